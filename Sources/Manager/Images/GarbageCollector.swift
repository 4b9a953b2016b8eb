import Content
import FoundationEssentials
import Snapshots

/// Mark and sweep over the content store and the snapshotter, containerd's
/// model: images, leases (and, later, containers) are the roots; from each
/// image's target the walk follows index → manifests → config and layers, and
/// the config's diff_ids give the chain IDs of the layer snapshots it uses.
/// Everything not reached is removed: blobs, committed snapshots (children
/// before parents) and active snapshots no lease holds.
public struct GarbageCollector {
    public struct Roots: Sendable {
        public var targets: [Digest] = []
        public var content: Set<String> = []
        public var snapshots: Set<String> = []
        public init(targets: [Digest] = [], content: Set<String> = [], snapshots: Set<String> = []) {
            self.targets = targets; self.content = content; self.snapshots = snapshots
        }
    }

    public struct Result: Sendable, Equatable {
        public var blobsRemoved: [Digest] = []
        public var bytesFreed: Int64 = 0
        public var snapshotsRemoved: [String] = []
        /// What the removed snapshots held (as their usage said before removal).
        public var snapshotBytesFreed: Int64 = 0
    }

    let content: ContentStore
    let snapshotter: any Snapshotter

    public init(content: ContentStore, snapshotter: any Snapshotter) {
        self.content = content
        self.snapshotter = snapshotter
    }

    /// What the roots reach: blob digests and snapshot names.
    public func mark(_ roots: Roots) -> (blobs: Set<Digest>, snapshots: Set<String>) {
        var blobs = Set(roots.content.compactMap(Digest.init))
        var snaps = roots.snapshots
        var stack = roots.targets
        var visited = Set<Digest>()
        while let d = stack.popLast() {
            guard visited.insert(d).inserted else { continue }
            blobs.insert(d)
            // Layers and configs are leaves; only JSON documents are walked.
            guard let info = try? content.info(d), info.size < 8 << 20, let bytes = try? content.read(d) else { continue }
            switch try? ImageDocument.decode(bytes, mediaType: nil) {
            case .index(let index)?:
                stack += index.manifests.map(\.digest)
            case .manifest(let m)?:
                blobs.insert(m.config.digest)
                for l in m.layers { blobs.insert(l.digest) }
                if let cfgBytes = try? content.read(m.config.digest),
                   let cfg = try? JSONDecoder().decode(ImageConfig.self, from: Data(cfgBytes)) {
                    for c in ChainID.chain(cfg.rootfs.diffIDs) { snaps.insert(c.description) }
                }
            case nil:
                continue
            }
        }
        return (blobs, snaps)
    }

    /// Removes what `roots` do not reach.
    public func collect(_ roots: Roots) throws -> Result {
        let (liveBlobs, liveSnaps) = mark(roots)
        var result = Result()
        // Snapshots: keep the live ones and their ancestors; remove the rest children first.
        let all = try snapshotter.list()
        let byName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var keep = Set<String>()
        for s in all where liveSnaps.contains(s.name) {
            var cur: String? = s.name
            while let n = cur, keep.insert(n).inserted { cur = byName[n]?.parent }
        }
        var doomed = all.filter { !keep.contains($0.name) }
        while !doomed.isEmpty {
            // Leaves first: a doomed snapshot no remaining doomed snapshot has as parent.
            let leaves = doomed.filter { s in !doomed.contains { $0.parent == s.name } }
            if leaves.isEmpty { break }
            for s in leaves {
                result.snapshotBytesFreed += (try? snapshotter.usage(s.name).size) ?? 0
                try snapshotter.remove(s.name)
                result.snapshotsRemoved.append(s.name)
            }
            doomed.removeAll { s in leaves.contains { $0.name == s.name } }
        }
        for info in try content.list() where !liveBlobs.contains(info.digest) {
            try content.delete(info.digest)
            result.blobsRemoved.append(info.digest)
            result.bytesFreed += info.size
        }
        return result
    }
}
