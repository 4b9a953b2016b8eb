import Content
import FoundationEssentials
import Registry
import RPC
import Snapshots

extension ImageService {
    /// Removes unreferenced content and snapshots: images and unexpired
    /// leases are the roots (GarbageCollector). Serialized: one collection at a time.
    @discardableResult
    public func collectGarbage() throws -> GarbageCollector.Result {
        try gcLock.withLock { _ in
            let now = Self.now()
            try leases.expire(now: now)
            var roots = GarbageCollector.Roots(targets: try images.all().map(\.target.digest),
                                               content: try leases.held(.content, now: now),
                                               snapshots: try leases.held(.snapshot, now: now))
            for provider in rootsProviders.withLock({ $0 }) {
                let extra = provider()
                roots.targets += extra.targets.compactMap(Digest.init)
                roots.snapshots.formUnion(extra.snapshots)
            }
            collections.add(1, ordering: .relaxed)
            return try GarbageCollector(content: content, snapshotter: snapshotter).collect(roots)
        }
    }

    /// The collection at berthd's start, once every service has registered
    /// its roots (a collection before that would take containers' snapshots).
    public func collectGarbageAtStart(logger: Logger) {
        do { try collectGarbage() } catch { logger.warn("garbage collection at start-up failed: \(error)") }
    }

    /// `rmi`, as Docker does it: a name is untagged, and the image is deleted
    /// once no name is left; an id deletes the image, refused without force
    /// when several repositories name it.
    public func remove(_ name: String, force: Bool) throws -> [BerthAPI.ImageDeleteItem] {
        let (id, records, named) = try resolve(name)
        var out: [BerthAPI.ImageDeleteItem] = []
        func untagLine(_ r: ImageRecord) -> String? {
            guard let n = r.name, let ref = try? Reference.parseQualified(n) else { return nil }
            return ref.familiarString
        }
        let users = imageUsers.withLock { $0 }(id.description)
        if let named {
            // The last tag of an image a container uses: refused without force;
            // with force the image stays, untagged (Docker's behaviour).
            let others = try images.withConfig(id).filter { $0.name != nil && $0.name != named.name }
            let lastTag = !others.contains { ($0.name.flatMap { try? Reference.parseQualified($0) })?.tag != nil }
            if lastTag, let user = users.first {
                guard force else {
                    throw BerthError(.conflict, "conflict: unable to remove repository reference \"\(name)\" (must force) - container \(user.prefix(12)) is using its referenced image \(id.short)")
                }
                try images.remove(name: named.name!)
                try images.putDangling(named)
                if let line = untagLine(named) { out.append(BerthAPI.ImageDeleteItem(untagged: line)) }
                return out
            }
            try images.remove(name: named.name!)
            if let line = untagLine(named) { out.append(BerthAPI.ImageDeleteItem(untagged: line)) }
            // A tag removed while the same digest is still named by NAME@DIGEST: that goes too, as Docker's untag.
            let rest = try images.withConfig(id)
            let tagged = rest.contains { ($0.name.flatMap { try? Reference.parseQualified($0) })?.tag != nil }
            if !tagged {
                for r in rest where r.name != nil {
                    try images.remove(name: r.name!)
                    if let line = untagLine(r) { out.append(BerthAPI.ImageDeleteItem(untagged: line)) }
                }
                _ = try images.remove(config: id)
                out.append(BerthAPI.ImageDeleteItem(deleted: id.description))
            }
        } else {
            let repos = Set(records.compactMap { $0.name.flatMap { try? Reference.parseQualified($0) }?.name })
            if repos.count > 1 && !force {
                throw BerthError(.conflict, "conflict: unable to delete \(id.short) (must be forced) - image is referenced in multiple repositories")
            }
            if let user = users.first {
                throw BerthError(.conflict, "conflict: unable to delete \(id.short) (\(force ? "cannot be forced" : "must be forced")) - image is being used by container \(user.prefix(12))")
            }
            for r in records.sorted(by: { ($0.name ?? "") < ($1.name ?? "") }) {
                if let line = untagLine(r) { out.append(BerthAPI.ImageDeleteItem(untagged: line)) }
            }
            _ = try images.remove(config: id)
            out.append(BerthAPI.ImageDeleteItem(deleted: id.description))
        }
        try collectGarbage()
        return out
    }

    /// `image prune`: dangling images (with `all`, every image: no container
    /// uses images yet), then garbage; the space is what the removed blobs and
    /// snapshots held.
    public func prune(all: Bool) throws -> BerthAPI.PruneResult {
        var deleted: [BerthAPI.ImageDeleteItem] = []
        var seen = Set<Digest>()
        for r in try images.all() where (all || r.name == nil) && seen.insert(r.configDigest).inserted {
            for gone in try images.remove(config: r.configDigest) {
                if let n = gone.name, let ref = try? Reference.parseQualified(n) {
                    deleted.append(BerthAPI.ImageDeleteItem(untagged: ref.familiarString))
                }
            }
            deleted.append(BerthAPI.ImageDeleteItem(deleted: r.configDigest.description))
        }
        let gc = try collectGarbage()
        return BerthAPI.PruneResult(deleted: deleted, spaceReclaimed: gc.bytesFreed + gc.snapshotBytesFreed)
    }

    /// `system df`'s image part: sizes counted once per snapshot and blob.
    public func diskUsage() throws -> BerthAPI.DiskUsage {
        let list = try list(BerthAPI.ImageListParams())
        var total: Int64 = 0
        for s in try snapshotter.list() where s.kind == .committed { total += (try? snapshotter.usage(s.name).size) ?? 0 }
        return BerthAPI.DiskUsage(images: list.count, imagesActive: 0, imagesSize: total, imagesReclaimable: total)
    }
}
