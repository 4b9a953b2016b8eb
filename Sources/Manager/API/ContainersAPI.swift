import FoundationEssentials
import Glibc
import Registry
import RPC

extension ContainerService {
    /// Opens the container side of berthd: records from metadata.db, the
    /// events socket for the shims, and reconciliation with what still runs.
    public static func start(daemon: Daemon, images: ImageService) throws -> ContainerService {
        let root = daemon.options.root, state = daemon.options.state
        for dir in [root + "/containers", state + "/containers", state + "/runtime"] {
            try makeDirectory(dir, mode: 0o711)
        }
        let initPath = HostCommand.locate("berth-init")
        let paths = Paths(persistent: root + "/containers", bundles: state + "/containers", runtimeRoot: state + "/runtime",
                          eventsSocket: state + "/events.sock", shim: HostCommand.locate("berth-shim"),
                          runtime: HostCommand.locate("berth-runtime"),
                          initBinary: initPath.hasPrefix("/") ? initPath : nil)
        let service = ContainerService(paths: paths, store: try ContainerStore(db: images.database), images: images,
                                       logger: daemon.logger)
        for r in try service.store.all() { service.add(ContainerEntry(r)) }
        try service.monitor.start(onEvent: { [unowned service] e in service.shimEvent(e) },
                                  onShimExit: { [unowned service] id, pid in service.shimDied(id, pid: pid) })
        images.addRootsProvider { service.gcRoots() }
        images.setImageUsers { id in service.entries.map(\.record).filter { $0.imageID == id }.map(\.id) }
        service.reconcile()
        return service
    }

    /// What containers keep from garbage collection: their snapshots and their images.
    func gcRoots() -> (targets: [String], snapshots: [String]) {
        let records = entries.map(\.record)
        return (records.compactMap(\.imageTarget), records.map(\.snapshotKey))
    }

    /// Runs blocking container work on a thread of its own.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingThread.run(body)
    }

    /// The container methods (docs/berthd-api.md, Containers).
    public func register(on daemon: Daemon) {
        let server = daemon.server
        server.register(.containerCreate) { (p: BerthAPI.ContainerCreateParams, _) in
            try await self.blocking { try self.create(p) }
        }
        server.register(.containerStart) { (p: BerthAPI.ContainerRef, _) -> NoParams in
            try await self.blocking { try self.start(try self.entry(p.id)) }
            return NoParams()
        }
        server.register(.containerStop) { (p: BerthAPI.ContainerStopParams, _) -> NoParams in
            try await self.blocking { try self.stop(try self.entry(p.id), timeout: p.timeout) }
            return NoParams()
        }
        server.register(.containerRestart) { (p: BerthAPI.ContainerStopParams, _) -> NoParams in
            try await self.blocking { try self.restart(try self.entry(p.id), timeout: p.timeout) }
            return NoParams()
        }
        server.register(.containerKill) { (p: BerthAPI.ContainerKillParams, _) -> NoParams in
            try await self.blocking { try self.kill(try self.entry(p.id), signal: p.signal) }
            return NoParams()
        }
        server.register(.containerPause) { (p: BerthAPI.ContainerRef, _) -> NoParams in
            try await self.blocking { try self.pause(try self.entry(p.id)) }
            return NoParams()
        }
        server.register(.containerUnpause) { (p: BerthAPI.ContainerRef, _) -> NoParams in
            try await self.blocking { try self.unpause(try self.entry(p.id)) }
            return NoParams()
        }
        server.register(.containerRemove) { (p: BerthAPI.ContainerRemoveParams, _) -> NoParams in
            try await self.blocking { try self.remove(try self.entry(p.id), force: p.force ?? false, volumes: p.volumes ?? false) }
            return NoParams()
        }
        server.register(.containerRename) { (p: BerthAPI.ContainerRenameParams, _) -> NoParams in
            try await self.blocking { try self.rename(try self.entry(p.id), to: p.name) }
            return NoParams()
        }
        server.register(.containerWait) { (p: BerthAPI.ContainerWaitParams, ctx) in
            try await self.blocking { try self.wait(try self.entry(p.id), condition: p.condition ?? "", isCancelled: { ctx.isCancelled }) }
        }
        server.register(.containerList) { (p: BerthAPI.ContainerListParams, _) in try self.list(p) }
        server.register(.containerInspect) { (p: BerthAPI.ContainerInspectParams, _) in
            try self.inspect(try self.entry(p.id), size: p.size ?? false)
        }
        daemon.addInfoContributor { info in
            let records = self.entries.map(\.record)
            info.containers = records.count
            info.containersRunning = records.filter { $0.state.status == .running }.count
            info.containersPaused = records.filter { $0.state.status == .paused }.count
            info.containersStopped = records.count - info.containersRunning - info.containersPaused
        }
    }
}
