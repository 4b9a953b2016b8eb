import FoundationEssentials
import Glibc
import Registry
import RPC

extension VolumeService {
    /// Opens the volumes under `<root>/volumes` with their records in the image service's metadata.db.
    public static func start(daemon: Daemon, images: ImageService) throws -> VolumeService {
        let dir = daemon.options.root + "/volumes"
        if mkdir(dir, 0o701) != 0 && errno != EEXIST {
            throw BerthError(.internal, "mkdir \(dir): \(String(cString: strerror(errno)))")
        }
        return VolumeService(directory: dir, store: try VolumeStore(db: images.database), logger: daemon.logger)
    }

    /// The volume methods (docs/berthd-api.md, Volumes). They touch the disk: each runs on a thread of its own.
    public func register(on daemon: Daemon) {
        let server = daemon.server
        server.register(.volumeCreate) { (p: BerthAPI.VolumeCreateParams, _) in
            try await BlockingThread.run { try self.create(p) }
        }
        server.register(.volumeList) { (p: BerthAPI.VolumeListParams, _) in
            try await BlockingThread.run { BerthAPI.VolumeListResult(volumes: try self.list(p.filters ?? [:])) }
        }
        server.register(.volumeInspect) { (p: BerthAPI.VolumeRef, _) in
            try await BlockingThread.run { try self.inspect(p.name) }
        }
        server.register(.volumeRemove) { (p: BerthAPI.VolumeRemoveParams, _) -> NoParams in
            try await BlockingThread.run { try self.remove(p.name, force: p.force ?? false) }
            return NoParams()
        }
        server.register(.volumePrune) { (p: BerthAPI.VolumePruneParams, _) in
            try await BlockingThread.run { try self.prune(p.filters ?? [:]) }
        }
    }
}
