import Content
import FoundationEssentials
import Glibc
import OCI
import Registry
import RPC
import Snapshots

extension ImageService {
    /// Finds the image `name` names, as Docker resolves it: a full or short
    /// image id (`sha256:…` or hex prefix), else a reference (NAME, NAME:TAG,
    /// NAME@DIGEST). The records of that image id come back (every name of it).
    public func resolve(_ name: String) throws -> (id: Digest, records: [ImageRecord], named: ImageRecord?) {
        let all = try images.all()
        let hex = name.hasPrefix("sha256:") ? String(name.dropFirst(7)) : name
        if !hex.isEmpty, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            let ids = Set(all.map(\.configDigest).filter { $0.encoded.hasPrefix(hex) })
            if ids.count > 1 { throw BerthError(.invalidArgument, "multiple IDs found with provided prefix: \(hex)") }
            if let id = ids.first { return (id, all.filter { $0.configDigest == id }, nil) }
            if name.hasPrefix("sha256:") || hex.utf8.count == 64 { throw BerthError(.notFound, "No such image: \(name)") }
        }
        let ref: Reference
        do { ref = try registry.parse(name).withDefaultTag } catch { throw BerthError(.notFound, "No such image: \(name)") }
        guard let r = all.first(where: { $0.name == Self.recordName(ref) }) else {
            throw BerthError(.notFound, "No such image: \(ref.familiarString)")
        }
        return (r.configDigest, all.filter { $0.configDigest == r.configDigest }, r)
    }

    /// Familiar tags and digests of the records of one image.
    static func tagsAndDigests(_ records: [ImageRecord]) -> (tags: [String], digests: [String]) {
        var tags: [String] = [], digests: [String] = []
        for r in records {
            guard let name = r.name, let ref = try? Reference.parseQualified(name) else { continue }
            let familiar = Reference(domain: ref.domain, path: ref.path).familiarName
            if ref.tag != nil && ref.digest == nil { tags.append(familiar + ":" + ref.tag!) }
            // A repository digest is what a registry serves: only names that came from one (pull, push).
            guard r.labels[ImageRecord.sourceLabel] == "registry" || ref.digest != nil else { continue }
            let d = familiar + "@" + r.target.digest.description
            if !digests.contains(d) { digests.append(d) }
        }
        return (tags.sorted(), digests.sorted())
    }

    /// The unpacked size of an image (its layer snapshots), else its compressed layers.
    func size(of config: ImageConfig, manifest: Manifest) -> Int64 {
        var total: Int64 = 0
        for c in ChainID.chain(config.rootfs.diffIDs) {
            guard let u = try? snapshotter.usage(c.description) else {
                return manifest.layers.reduce(0) { $0 + $1.size }
            }
            total += u.size
        }
        return total
    }

    /// The filters `images --filter` takes (Docker's names).
    static let listFilters: Set<String> = ["dangling", "reference", "before", "since", "label"]

    public func list(_ p: BerthAPI.ImageListParams) throws -> [BerthAPI.ImageSummary] {
        let all = try images.all()
        var byID: [Digest: [ImageRecord]] = [:]
        var order: [Digest] = []
        for r in all {
            if byID[r.configDigest] == nil { order.append(r.configDigest) }
            byID[r.configDigest, default: []].append(r)
        }
        let filters = p.filters ?? [:]
        try ListFilters.check(filters, known: Self.listFilters)
        let dangling = try ListFilters.dangling(filters)
        let patterns = filters["reference"] ?? []
        // before= and since=: images created before / after the one named (by its config's time).
        func createdOf(_ name: String) throws -> Int64 {
            let (id, records, named) = try resolve(name)
            let record = named ?? records.first { $0.configDigest == id }!
            let (_, manifest) = try platformManifest(record.target, config: record.configDigest)
            return try config(of: manifest).created.flatMap(RFC3339.unixNanos) ?? 0
        }
        let before = try (filters["before"] ?? []).map(createdOf).min()
        let since = try (filters["since"] ?? []).map(createdOf).max()
        // label=KEY or label=KEY=VALUE: every one given must match.
        let labels: [(key: String, value: String?)] = (filters["label"] ?? []).map { l in
            guard let eq = l.firstIndex(of: "=") else { return (l, nil) }
            return (String(l[..<eq]), String(l[l.index(after: eq)...]))
        }
        var out: [(summary: BerthAPI.ImageSummary, nanos: Int64)] = []
        for id in order {
            let records = byID[id]!
            let (tags, digests) = Self.tagsAndDigests(records)
            let isDangling = tags.isEmpty
            if let dangling, dangling != isDangling { continue }
            if !patterns.isEmpty && !tags.contains(where: { t in patterns.contains { Self.matches(pattern: $0, tag: t) } }) { continue }
            guard let (_, manifest) = try? platformManifest(records[0].target, config: id), let cfg = try? config(of: manifest) else { continue }
            let nanos = cfg.created.flatMap(RFC3339.unixNanos) ?? 0
            if let before, nanos >= before { continue }
            if let since, nanos <= since { continue }
            let have = cfg.config?.labels ?? [:]
            if !labels.allSatisfy({ l in have[l.key].map { v in l.value == nil || l.value == v } ?? false }) { continue }
            out.append((BerthAPI.ImageSummary(id: id.description, repoTags: tags, repoDigests: digests,
                                              created: nanos / 1_000_000_000, size: size(of: cfg, manifest: manifest)), nanos))
        }
        return out.sorted { $0.nanos > $1.nanos }.map(\.summary)
    }

    /// `reference=` filters: a shell-style pattern against NAME:TAG or NAME (Docker matches
    /// either the familiar name alone or with its tag).
    static func matches(pattern: String, tag: String) -> Bool {
        let name = String(tag[..<(tag.lastIndex(of: ":") ?? tag.endIndex)])
        return fnmatch(pattern, tag, 0) == 0 || fnmatch(pattern, name, 0) == 0
    }

    public func inspect(_ name: String) throws -> JSONValue {
        let (id, records, named) = try resolve(name)
        let record = named ?? records[0]
        let (_, manifest) = try platformManifest(record.target, config: id)
        let configBytes = try content.read(manifest.config.digest)
        let raw = try JSONParser.parse(configBytes)
        let cfg = try ImageDocument.decodeConfig(configBytes)
        let (tags, digests) = Self.tagsAndDigests(records)
        var pairs: [(String, JSONValue)] = [
            ("Id", .string(id.description)),
            ("RepoTags", .array(tags.map(JSONValue.string))),
            ("RepoDigests", .array(digests.map(JSONValue.string))),
            ("Parent", ""),
            ("Comment", .string(cfg.history?.last?.comment ?? "")),
            ("Created", .string(cfg.created ?? "")),
            ("DockerVersion", ""),
            ("Author", .string(cfg.author ?? "")),
            ("Config", raw["config"] ?? .null),
            ("Architecture", .string(cfg.architecture)),
        ]
        if let v = cfg.variant { pairs.append(("Variant", .string(v))) }
        pairs += [
            ("Os", .string(cfg.os)),
            ("Size", .int(size(of: cfg, manifest: manifest))),
            ("GraphDriver", .object([("Name", .string(snapshotter.name)), ("Data", .null)])),
            ("RootFS", .object([("Type", "layers"), ("Layers", .array(cfg.rootfs.diffIDs.map { .string($0.description) }))])),
            ("Metadata", .object([("LastTagTime", .string(Clock.rfc3339(timespec(tv_sec: Int(record.updatedAt / 1_000_000_000), tv_nsec: Int(record.updatedAt % 1_000_000_000)))))])),
        ]
        return .object(pairs)
    }

    public func history(_ name: String) throws -> [BerthAPI.HistoryItem] {
        let (id, records, named) = try resolve(name)
        let (_, manifest) = try platformManifest((named ?? records[0]).target, config: id)
        let cfg = try config(of: manifest)
        let chain = ChainID.chain(cfg.rootfs.diffIDs)
        var history = cfg.history ?? []
        if history.isEmpty {
            history = cfg.rootfs.diffIDs.map { _ in ImageConfig.History() }
        }
        var layer = 0
        var items: [BerthAPI.HistoryItem] = []
        for h in history {
            let empty = h.emptyLayer ?? false
            var size: Int64 = 0
            if !empty, layer < chain.count {
                size = (try? snapshotter.usage(chain[layer].description).size) ?? manifest.layers[layer].size
                layer += 1
            }
            items.append(BerthAPI.HistoryItem(id: "<missing>", created: h.created.flatMap(RFC3339.unixSeconds) ?? 0,
                                              createdBy: h.createdBy ?? "", size: size, comment: h.comment ?? "", emptyLayer: empty))
        }
        items.reverse()
        if !items.isEmpty { items[0].id = id.description }
        return items
    }

    public func tag(source: String, target: String) throws {
        let (_, records, named) = try resolve(source)
        let src = named ?? records[0]
        let ref: Reference
        do { ref = try registry.parse(target).withDefaultTag } catch { throw BerthError(.invalidArgument, "\(error)") }
        guard ref.digest == nil else { throw BerthError(.invalidArgument, "refusing to create a tag with a digest reference") }
        let now = Self.now()
        try images.put(ImageRecord(name: Self.recordName(ref), target: src.target, configDigest: src.configDigest,
                                   createdAt: now, updatedAt: now))
    }
}

/// RFC 3339 timestamps of image configs ("2024-01-02T03:04:05.123456789Z", offsets allowed).
enum RFC3339 {
    /// Unix nanoseconds, fractions of a second kept (to order images made within one second).
    static func unixNanos(_ s: String) -> Int64? {
        guard let secs = unixSeconds(s) else { return nil }
        var nanos: Int64 = 0
        let b = Array(s.utf8)
        if b.count > 19 && b[19] == 46 {
            var digits = 0
            var i = 20
            while i < b.count && b[i] >= 48 && b[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 9 { nanos *= 10; digits += 1 }
        }
        return secs * 1_000_000_000 + nanos
    }

    static func unixSeconds(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for c in b[from..<(from + len)] { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + Int(c - 48) }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let sec = num(17, 2) else { return nil }
        var t = tm()
        t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
        t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = Int32(sec)
        var secs = Int64(timegm(&t))
        var i = 19
        if i < b.count && b[i] == 46 { i += 1; while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 } }
        if i < b.count && (b[i] == 43 || b[i] == 45), let oh = num(i + 1, 2), let om = num(i + 4, 2) {
            let off = Int64(oh * 3600 + om * 60)
            secs += b[i] == 43 ? -off : off
        }
        return secs
    }
}
