import FoundationEssentials
import Glibc
import OCI
import Registry
import RPC

extension ContainerService {
    /// Opens the container side of berthd: records from metadata.db, the
    /// events socket for the shims, and reconciliation with what still runs.
    public static func start(daemon: Daemon, images: ImageService, volumes: VolumeService, networks: NetworkService) throws -> ContainerService {
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
                                       volumes: volumes, networking: networks, logger: daemon.logger)
        networks.recordsProvider.withLock { $0 = { [unowned service] in service.entries.map(\.record) } }
        for r in try service.store.all() { service.add(ContainerEntry(r)) }
        try service.monitor.start(onEvent: { [unowned service] e in service.shimEvent(e) },
                                  onShimExit: { [unowned service] id, pid in service.shimDied(id, pid: pid) })
        images.addRootsProvider { service.gcRoots() }
        images.setImageUsers { id in service.entries.map(\.record).filter { $0.imageID == id }.map(\.id) }
        volumes.setUsers { name in service.volumeUsers(name) }
        service.reconcile()
        service.reacquireVolumes()
        return service
    }

    /// What containers keep from garbage collection: their snapshots and their images.
    func gcRoots() -> (targets: [String], snapshots: [String]) {
        let records = entries.map(\.record)
        return (records.compactMap(\.imageTarget), records.flatMap { [$0.snapshotKey, Self.initLayerName($0.id)] }
                + creating.withLock { Array($0) } + tearingDown.withLock { Array($0) })
    }

    /// Runs blocking container work on a thread of its own.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingThread.run(body)
    }

    /// The container methods (docs/berthd-api.md, Containers).
    public func register(on daemon: Daemon) {
        daemon.addStopHandler { [self] deadline in finishExitHandling(deadline: deadline) }
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
        server.register(.containerLogs) { (p: BerthAPI.ContainerLogsParams, ctx) -> NoParams in
            try await self.blocking { try self.logs(try self.entry(p.id), p, ctx: ctx) }
            return NoParams()
        }
        server.register(.containerAttach) { (p: BerthAPI.ContainerAttachParams, ctx) in
            try await self.blocking { try self.attach(try self.entry(p.id), p, ctx: ctx) }
        }
        server.register(.containerResize) { (p: BerthAPI.ContainerResizeParams, _) -> NoParams in
            try await self.blocking { try self.resize(try self.entry(p.id), width: p.width, height: p.height) }
            return NoParams()
        }
        server.register(.execCreate) { (p: BerthAPI.ExecCreateParams, _) in try self.execCreate(p) }
        server.register(.execStart) { (p: BerthAPI.ExecStartParams, ctx) in
            try await self.blocking { try self.execStart(p, ctx: ctx) }
        }
        server.register(.execResize) { (p: BerthAPI.ExecResizeParams, _) -> NoParams in
            let s = try self.execSession(p.execID)
            try await self.blocking { try self.resize(try self.entry(s.containerID), width: p.width, height: p.height, execID: s.id) }
            return NoParams()
        }
        server.register(.execInspect) { (p: BerthAPI.ExecRef, _) in try self.execInspect(p.execID) }
        server.register(.containerTop) { (p: BerthAPI.ContainerTopParams, _) in
            try await self.blocking { try self.top(try self.entry(p.id), psArgs: p.psArgs) }
        }
        server.register(.containerStats) { (p: BerthAPI.ContainerStatsParams, ctx) -> BerthAPI.ContainerStats in
            let entry = try self.entry(p.id)
            var sample = try await self.blocking { try self.stats(entry) }
            guard p.stream == true else { return sample }
            // Streaming: a sample a second until the client leaves or the container is removed.
            while !ctx.isCancelled {
                if !ctx.notify(BerthAPI.StreamNotification.stats, value: sample) { break }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                guard (try? self.entry(entry.id)) != nil else { break }
                sample = try await self.blocking { try self.stats(entry) }
            }
            return sample
        }
        server.register(.containerPort) { (p: BerthAPI.ContainerRef, _) -> [BerthAPI.PortMapping] in
            (try self.entry(p.id).record.publishedPorts ?? []).map {
                BerthAPI.PortMapping(containerPort: "\($0.containerPort)/\($0.proto)", hostIp: $0.hostIP.isEmpty ? "0.0.0.0" : $0.hostIP,
                                     hostPort: String($0.hostPort))
            }
        }
        server.register(.systemEvents) { (p: BerthAPI.EventsParams, ctx) -> NoParams in
            try await self.streamEvents(p, ctx: ctx)
            return NoParams()
        }
        registerFiles(on: server)
        daemon.addInfoContributor { info in
            let records = self.entries.map(\.record)
            info.containers = records.count
            info.containersRunning = records.filter { $0.state.status == .running }.count
            info.containersPaused = records.filter { $0.state.status == .paused }.count
            info.containersStopped = records.count - info.containersRunning - info.containersPaused
        }
    }
}
