import Content
import ContainerSpec
import FoundationEssentials
import Glibc
import RPC
import Snapshots

extension ContainerService {
    /// `create`: a record, a writable snapshot on the image's layers and the
    /// directory for its log; nothing runs yet. On any failure nothing is left.
    func create(_ p: BerthAPI.ContainerCreateParams) throws -> BerthAPI.ContainerCreateResult {
        var times = StepTimes()
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
        try validateLinks(p.hostConfig)
        // The networks and published ports are checked now, before anything exists.
        let endpoints = try networking.endpoints(for: p)

        let (imageID, records, named) = try images.resolve(p.image)
        guard let record = named ?? records.first else { throw BerthError(.notFound, "No such image: \(p.image)") }
        let (_, manifest) = try images.platformManifest(record.target, config: imageID)
        let imageConfig = try images.config(of: manifest)
        var config = p.config.merged(image: imageConfig.config)
        config.image = p.image
        if (config.entrypoint ?? []).isEmpty && (config.cmd ?? []).isEmpty {
            throw BerthError(.invalidArgument, "no command specified")
        }

        let plan = try planMounts(config: config, hostConfig: p.hostConfig)
        let id = Self.randomID()
        // What the spec builder refuses (a bad capability, ulimit, device, security option)
        // is refused now, before anything exists; the user is looked up at start.
        var probe = config
        probe.user = "0:0"
        let warnings: [String]
        do {
            warnings = try Self.specBuilder.build(.init(id: id, config: probe, hostConfig: p.hostConfig, rootfs: "/",
                                                        initPath: paths.initBinary ?? "/sbin/berth-init",
                                                        namespacePaths: [.pid: "/", .network: "/", .ipc: "/", .uts: "/"])).warnings
        } catch {
            throw BerthError(.invalidArgument, error.message)
        }
        let key = "container-" + id
        let initLayer = Self.initLayerName(id)
        let imageTop = ChainID.of(imageConfig.rootfs.diffIDs)?.description
        var rec = ContainerRecord(id: id, name: name, created: Self.now(), image: p.image, imageID: imageID.description,
                                  config: config, hostConfig: p.hostConfig, snapshotKey: key, snapshotParent: initLayer,
                                  logPath: persistentDirectory(id) + "/" + id + "-json.log", state: ContainerState())
        rec.imageTarget = record.target.digest.description
        rec.mounts = plan.mounts
        rec.networks = endpoints
        _ = try NetworkService.portRequests(rec)
        creating.withLock { $0.formUnion([key, initLayer, initLayer + "-active"]) }
        defer { creating.withLock { $0.subtract([key, initLayer, initLayer + "-active"]) } }
        times.mark("check")
        do {
            try makeInitLayer(initLayer, parent: imageTop, id: id)
            times.mark("init")
            _ = try images.snapshotter.prepare(key, parent: initLayer, labels: ["berth.container": id])
            times.mark("snapshot")
        } catch {
            try? images.snapshotter.remove(initLayer)
            throw BerthError(.internal, "cannot prepare the container's filesystem: \(error)")
        }
        do {
            try Self.makeDirectory(persistentDirectory(id), mode: 0o700)
            try withPlannedVolumes(plan) {
                try store.insert(rec)
                add(ContainerEntry(rec))
            }
        } catch {
            try? images.snapshotter.remove(key)
            try? images.snapshotter.remove(initLayer)
            Self.removeTree(persistentDirectory(id))
            throw error
        }
        emit("create", rec)
        times.mark("record")
        logger.debug("container created", ["id": rec.shortID, "steps": times.text])
        return BerthAPI.ContainerCreateResult(id: id, warnings: warnings)
    }

    /// The container's init layer (Docker's "-init"): a committed snapshot between
    /// the image and the writable layer holding the mount points the runtime
    /// needs (/proc, /sys, /dev, …) when the image lacks them, so that they
    /// never show in `diff` or go into a `commit`.
    static func initLayerName(_ id: String) -> String { "container-" + id + "-init" }

    func makeInitLayer(_ name: String, parent: String?, id: String) throws {
        let snapshotter = images.snapshotter
        let active = name + "-active"
        _ = try snapshotter.prepare(active, parent: parent, labels: ["berth.container": id])
        do {
            let upper = try snapshotter.upperDirectory(active)
            let lowers = try snapshotter.lowerDirectories(active)
            for dir in ["proc", "sys", "dev", "dev/pts", "dev/shm", "dev/mqueue", "etc"] {
                let present = ([upper] + lowers).contains { access($0 + "/" + dir, F_OK) == 0 }
                if !present { mkdir(upper + "/" + dir, 0o755) }
            }
            try snapshotter.commit(name, key: active, labels: ["berth.container": id])
        } catch {
            try? snapshotter.remove(active)
            throw error
        }
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

