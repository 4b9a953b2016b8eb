import Content
import FoundationEssentials
import Glibc
import RPC
import Snapshots

extension ContainerService {
    /// `create`: a record, a writable snapshot on the image's layers and the
    /// directory for its log; nothing runs yet. On any failure nothing is left.
    func create(_ p: BerthAPI.ContainerCreateParams) throws -> BerthAPI.ContainerCreateResult {
        let name: String
        if let n = p.name, !n.isEmpty {
            name = try ContainerNames.validate(n)
            if let other = nameTaken(name) {
                throw BerthError(.conflict, "Conflict. The container name \"/\(name)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
        } else {
            name = ContainerNames.generate { self.nameTaken($0) != nil }
        }
        try validate(p.hostConfig)

        let (imageID, records, named) = try images.resolve(p.image)
        guard let record = named ?? records.first else { throw BerthError(.notFound, "No such image: \(p.image)") }
        let (_, manifest) = try images.platformManifest(record.target)
        let imageConfig = try images.config(of: manifest)
        let config = ConfigMerge.merge(user: p.config, image: imageConfig.config, imageName: p.image)
        if (config.entrypoint ?? []).isEmpty && (config.cmd ?? []).isEmpty {
            throw BerthError(.invalidArgument, "no command specified")
        }

        let id = Self.randomID()
        let key = "container-" + id
        let parent = ChainID.of(imageConfig.rootfs.diffIDs)?.description
        var rec = ContainerRecord(id: id, name: name, created: Self.now(), image: p.image, imageID: imageID.description,
                                  config: config, hostConfig: p.hostConfig, snapshotKey: key, snapshotParent: parent,
                                  logPath: persistentDirectory(id) + "/" + id + "-json.log", state: ContainerState())
        rec.imageTarget = record.target.digest.description
        do {
            _ = try images.snapshotter.prepare(key, parent: parent, labels: ["berth.container": id])
        } catch {
            throw BerthError(.internal, "cannot prepare the container's filesystem: \(error)")
        }
        do {
            try Self.makeDirectory(persistentDirectory(id), mode: 0o700)
            try store.insert(rec)
        } catch {
            try? images.snapshotter.remove(key)
            Self.removeTree(persistentDirectory(id))
            throw error
        }
        add(ContainerEntry(rec))
        emit("create", rec)
        return BerthAPI.ContainerCreateResult(id: id)
    }

    /// What can be refused before anything is made.
    func validate(_ h: BerthAPI.HostConfig) throws {
        if let r = h.restartPolicy {
            switch r.name {
            case "", "no", "always", "unless-stopped": break
            case "on-failure": if r.maximumRetryCount < 0 { throw BerthError(.invalidArgument, "maximum retry count cannot be negative") }
            default: throw BerthError(.invalidArgument, "invalid restart policy '\(r.name)'")
            }
            if h.autoRemove == true && r.name != "" && r.name != "no" {
                throw BerthError(.invalidArgument, "Conflicting options: --restart and --rm")
            }
        }
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw BerthError(.internal, "mkdir \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// rm -rf (symlinks are removed, never followed); a missing path is fine.
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Docker's merge of the user's Config over the image's.
enum ConfigMerge {
    static func merge(user: BerthAPI.ContainerConfig, image: ImageConfig.Config?, imageName: String) -> BerthAPI.ContainerConfig {
        var c = user
        c.image = imageName
        guard let image else { return c }
        if c.entrypoint == nil {
            c.entrypoint = image.entrypoint
            if c.cmd == nil { c.cmd = image.cmd }
        }
        // A user entrypoint without a cmd drops the image's cmd (Docker's rule).
        if c.user == nil || c.user == "" { c.user = image.user }
        if c.workingDir == nil || c.workingDir == "" { c.workingDir = image.workingDir }
        if c.stopSignal == nil { c.stopSignal = image.stopSignal }
        var env = image.env ?? []
        for kv in c.env ?? [] {
            let key = kv.split(separator: "=", maxSplits: 1).first.map(String.init) ?? kv
            if let i = env.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) { env[i] = kv } else { env.append(kv) }
        }
        c.env = env
        if let l = image.labels, !l.isEmpty { c.labels = l.merging(c.labels ?? [:]) { _, u in u } }
        if let ports = image.exposedPorts, !ports.isEmpty {
            var merged = c.exposedPorts ?? [:]
            for k in ports.keys { merged[k] = .init() }
            c.exposedPorts = merged
        }
        if let vols = image.volumes, !vols.isEmpty {
            var merged = c.volumes ?? [:]
            for k in vols.keys { merged[k] = .init() }
            c.volumes = merged
        }
        return c
    }
}
