import Content
import FoundationEssentials
import Glibc
import OCI
import Registry
import RPC
import Snapshots
import Unpack

extension ImageService {
    /// `import`: a root filesystem tarball (plain or compressed) becomes a
    /// one-layer image. The file is stored as the layer blob as it is; its
    /// diffID comes from unpacking it (into a snapshot committed under that
    /// diffID, which is the chain ID of a one-layer image). `--change`
    /// applies Dockerfile instructions to the config.
    /// An import that fails leaves nothing: its lease goes and what it stored is collected.
    public func importImage(_ p: BerthAPI.ImportParams) throws -> BerthAPI.ImportResult {
        do { return try importTarball(p) } catch {
            try? collectGarbage()
            throw error
        }
    }

    func importTarball(_ p: BerthAPI.ImportParams) throws -> BerthAPI.ImportResult {
        var config = ImageConfig.Config()
        for change in p.changes ?? [] { try Self.apply(change: change, to: &config) }
        let ref = try p.reference.map { try parse($0) }
        let now = Self.now()
        let lease = "import-" + Digest.sha256(of: Array("\(p.path) \(now)".utf8)).short
        try leases.create(id: lease, now: now, ttlNanos: Self.leaseTTL)
        defer { try? leases.delete(lease) }

        // The layer blob: the file as given, under its own digest.
        var magic = [UInt8](repeating: 0, count: 4)
        let fd = open(p.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError(.invalidArgument, "open \(p.path): \(String(cString: strerror(errno)))") }
        let got = Glibc.read(fd, &magic, 4)
        close(fd)
        magic = Array(magic.prefix(max(0, got)))
        let mediaType = magic.starts(with: [0x1f, 0x8b]) ? MediaType.ociLayerGzip
            : magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) ? MediaType.ociLayerZstd : MediaType.ociLayer
        let layer = try ArchiveStaging.ingestFile(p.path, mediaType: mediaType, into: content, lease: lease, leases: leases)

        // Unpacked into a fresh snapshot; its name is known only once the diffID is.
        let key = "extract-import-" + layer.digest.short + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try leases.add(lease, .snapshot, key)
        _ = try snapshotter.prepare(key, parent: nil, labels: [:])
        let diffID: Digest
        do {
            let options = UnpackOptions(whiteouts: snapshotter.appliesWhiteoutsByDeleting ? .delete : .overlay)
            let r: UnpackResult
            do { r = try LayerUnpacker.apply(file: content.path(of: layer.digest), to: try snapshotter.upperDirectory(key), options: options) }
            catch { throw BerthError(.invalidArgument, "\(p.path) is not a root filesystem tarball: \(error)") }
            diffID = r.diffID
            try leases.add(lease, .snapshot, diffID.description)
            if try snapshotter.exists(diffID.description) { try snapshotter.remove(key) }
            else { try snapshotter.commit(diffID.description, key: key) }
        } catch {
            try? snapshotter.remove(key)
            throw error
        }

        let created = Clock.rfc3339(nanos: true)
        let image = ImageConfig(platform: .host, config: config, diffIDs: [diffID],
                                history: [ImageConfig.History(created: created, createdBy: "", comment: p.message ?? "Imported from \(p.path)")],
                                created: created)
        let configDesc = try content.put(ImageDocument.encode(image), mediaType: MediaType.ociConfig)
        try leases.add(lease, .content, configDesc.digest.description)
        let manifest = Manifest(mediaType: MediaType.ociManifest, config: configDesc, layers: [layer])
        let manifestDesc = try content.put(ImageDocument.encode(manifest), mediaType: MediaType.ociManifest)
        try leases.add(lease, .content, manifestDesc.digest.description)
        var loaded: [String] = []
        try record(names: ref.map { [$0.familiarString] } ?? [], target: manifestDesc, config: configDesc.digest, now: now, loaded: &loaded)
        return BerthAPI.ImportResult(id: configDesc.digest.description)
    }

    /// One `--change` line, as Docker accepts them for import and commit:
    /// CMD, ENTRYPOINT (JSON or shell form), ENV, EXPOSE, LABEL, USER, VOLUME,
    /// WORKDIR, STOPSIGNAL.
    static func apply(change: String, to c: inout ImageConfig.Config) throws {
        let trimmed = change.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") else {
            throw BerthError(.invalidArgument, "invalid change \"\(change)\": an instruction needs an argument")
        }
        let instruction = trimmed[..<space].uppercased()
        let arg = String(trimmed[trimmed.index(after: space)...].drop { $0 == " " })
        func list() -> [String] {
            if arg.hasPrefix("["), let a = try? JSONDecoder().decode([String].self, from: Data(arg.utf8)) { return a }
            return ["/bin/sh", "-c", arg]
        }
        func pairs() -> [(String, String)] {
            // KEY=VALUE ... (quotes removed), or the older "KEY VALUE".
            if !arg.contains("="), let sp = arg.firstIndex(of: " ") {
                let rest: Substring = arg[sp...].dropFirst()
                return [(String(arg[..<sp]), String(rest))]
            }
            return arg.split(separator: " ").compactMap { (kv: Substring) -> (String, String)? in
                guard let eq = kv.firstIndex(of: "=") else { return nil }
                let value: Substring = kv[eq...].dropFirst()
                return (String(kv[..<eq]), String(value.filter { $0 != "\"" }))
            }
        }
        switch instruction {
        case "CMD": c.cmd = list()
        case "ENTRYPOINT": c.entrypoint = list()
        case "ENV":
            var env = c.env ?? []
            for (k, v) in pairs() {
                env.removeAll { $0.hasPrefix(k + "=") }
                env.append(k + "=" + v)
            }
            c.env = env
        case "LABEL":
            var labels = c.labels ?? [:]
            for (k, v) in pairs() { labels[k] = v }
            c.labels = labels
        case "EXPOSE":
            var ports = c.exposedPorts ?? [:]
            for p in arg.split(separator: " ") { ports[p.contains("/") ? String(p) : p + "/tcp"] = ImageConfig.Empty() }
            c.exposedPorts = ports
        case "VOLUME":
            var volumes = c.volumes ?? [:]
            let paths = arg.hasPrefix("[") ? ((try? JSONDecoder().decode([String].self, from: Data(arg.utf8))) ?? []) : arg.split(separator: " ").map(String.init)
            for v in paths { volumes[v] = ImageConfig.Empty() }
            c.volumes = volumes
        case "USER": c.user = arg
        case "WORKDIR": c.workingDir = arg
        case "STOPSIGNAL": c.stopSignal = arg
        default:
            throw BerthError(.invalidArgument, "\(instruction) is not a valid change command")
        }
    }
}
