import FoundationEssentials
import Glibc
import OCI
import RPC
import Snapshots

/// Tasks: a running container is a bundle, a shim and the runtime's container.
///
/// | step | start | on failure |
/// | --- | --- | --- |
/// | 0 | bundle dir; `berth-shim start` launched, not waited for: it daemonizes while 1–3 are done | remove the dir |
/// | 1 | networks: ports bound, netns pinned, CNI ADD (NetworkService.attach) | `detach`: CNI DEL, ports freed, netns removed; as 0 |
/// | 2 | rootfs mounted from the snapshot | unmount, as 1 |
/// | 3 | volumes mounted and filled (copy-up); hosts, resolv.conf, hostname written; config.json from the record | as 2 |
/// | 4 | the shim's `start` collected (its address) | shim shut down, as 2 |
/// | 5 | shim `create` (runtime create, log piped); with no `beforeStart`, `start` too (runtime run --detach) | as 4 |
/// | 6 | with `beforeStart` (attach): it, then shim `start` (runtime start) | shim `delete` + shut down, as 2 |
///
/// An exit (the shim's `exit` event, or the shim's own death) is handled
/// once, under the container's mutex: shim `delete` (the exit status), shim
/// shut down, rootfs unmounted, bundle removed, record saved; then `--rm`
/// or the restart policy.
extension ContainerService {
    /// `start`. A running container is left alone; `beforeStart` runs once the
    /// task exists and before its process runs (attach, so no output is missed).
    func start(_ entry: ContainerEntry, beforeStart: ((ContainerEntry.Task) throws -> Void)? = nil) throws {
        do { try startLocked(entry, beforeStart: beforeStart) } catch {
            // `--rm`: a container that could not start goes too (Docker's behaviour).
            if entry.record.hostConfig.autoRemove == true, !entry.record.state.hasTask {
                try? remove(entry, force: true, volumes: true)
            }
            throw error
        }
    }

    private func startLocked(_ entry: ContainerEntry, beforeStart: ((ContainerEntry.Task) throws -> Void)?) throws {
        try entry.locked { g in
            switch g.record.state.status {
            case .running: return
            case .paused: throw BerthError(.failedPrecondition, "cannot start a paused container, try unpause instead")
            case .removing, .dead: throw BerthError(.failedPrecondition, "container \(entry.id) is marked for removal and cannot be started")
            case .created, .exited, .restarting: break
            }
            g.record.manuallyStopped = false
            try startTask(g, beforeStart: beforeStart)
        }
    }

    /// Steps 0–6 (the table above); the mutex is held.
    func startTask(_ g: ContainerEntry.Guarded, beforeStart: ((ContainerEntry.Task) throws -> Void)? = nil) throws {
        var r = g.record
        let dir = bundle(r.id), rootfs = dir + "/rootfs"
        var task: ContainerEntry.Task?
        var launching: HostCommand.Running?
        // Network and link errors are reported in Docker's words, without the task prefix.
        var reportAsIs = false
        var times = StepTimes()
        do {
            clearStaleBundle(r.id)
            try Self.makeDirectory(dir, mode: 0o711)
            try Self.makeDirectory(rootfs, mode: 0o755)
            // What the host mounts for the container comes before the shim: its
            // mount namespace is a copy taken when it starts, and a host whose "/"
            // is private passes nothing mounted later on to it (the network
            // namespace's pin, a volume that mounts on use).
            reportAsIs = true
            let netns = try networking.attach(&r)
            reportAsIs = false
            times.mark("net")
            let volumeMounts = try prepareMounts(r)
            // The shim starts (exec, fork, socket, shim.json: 2–3 ms) while the rest
            // of the bundle is made here; it needs config.json only at create.
            launching = try startShim(id: r.id, bundle: dir)
            reportAsIs = true
            let names = try prepareNameFiles(r, taken: Set(volumeMounts.map(\.destination)))
            reportAsIs = false
            times.mark("files")
            let spec = try renderSpec(r, rootfs: rootfs, netns: netns, extraMounts: volumeMounts + names.mounts,
                                      linkEnvironment: names.linkEnvironment)
            try Self.writeFile(dir + "/config.json", spec)
            let layers = try images.snapshotter.mounts(r.snapshotKey)
            times.mark("spec")
            let t = try shimStarted(launching.take()!)
            task = t
            times.mark("shim")
            // The rootfs, in the shim's mount namespace; new volumes filled from it.
            try ShimMountNamespace.run(shimPid: t.shimPid) { [self] in
                try mountRootfs(r, layers, at: rootfs)
                try fillNewVolumes(r, rootfs: rootfs)
            }
            times.mark("rootfs")
            monitor.watch(containerID: r.id, shimPid: t.shimPid)
            let client = try shimClient(t)
            let logOpts = r.hostConfig.logConfig?.config ?? [:]
            let tty = r.config.tty ?? false
            // With nothing to do between the two (no attach), the shim creates
            // and starts in one runtime call: one runtime process fewer per start.
            let create = CreateParams(stdio: .log, logPath: r.logPath,
                                      logMaxSize: logOpts["max-size"].flatMap(Self.parseSize),
                                      logMaxFiles: logOpts["max-file"].flatMap { Int($0) },
                                      stdin: (r.config.openStdin ?? false) && !tty, start: beforeStart == nil)
            var pid = try shimCall { () throws(RPCError) in try client.create(create) }.pid
            times.mark("create")
            g.task = t
            if let beforeStart {
                try beforeStart(t)
                times.mark("attach")
                pid = try shimCall { () throws(RPCError) in try client.start() }.pid
                times.mark("start")
            }
            r.state = ContainerState(status: .running, pid: pid, exitCode: 0, error: "", oomKilled: false,
                                     startedAt: Self.now(), finishedAt: r.state.finishedAt)
            g.record = r
            persist(r)
            emit("start", r)
            times.mark("record")
            logger.debug("container started", ["id": r.shortID, "steps": times.text])
        } catch {
            let message = (error as? BerthError)?.message ?? "\(error)"
            if let l = launching.take() { task = try? shimStarted(l) }
            if let task {
                monitor.unwatch(containerID: r.id)
                discardShim(task, id: r.id)
            }
            g.task = nil
            _ = try? Mount.unmountAll(rootfs, detach: true)
            releaseMounts(r)
            Self.removeTree(dir)
            networking.detach(&r)
            // Docker's record of a failed start: exit code 126/127/128 and the error.
            r.state.status = r.state.status == .restarting ? .exited : (r.state.startedAt == 0 ? .created : .exited)
            r.state.pid = 0
            r.state.exitCode = Self.startFailureCode(message)
            r.state.error = message
            if r.state.status == .exited { r.state.finishedAt = Self.now() }
            g.record = r
            persist(r)
            // A network or link error is Docker's own message ("driver failed programming external
            // connectivity …", "Cannot link to a non running container: …").
            throw BerthError(.failedPrecondition, reportAsIs ? message : "failed to create task for container: \(message)",
                             data: ["exitCode": .int(r.state.exitCode)])
        }
    }

    /// The container's layers at `rootfs` (in the shim's mount namespace).
    func mountRootfs(_ r: ContainerRecord, _ layers: [Snapshots.Mount], at rootfs: String) throws {
        guard r.hostConfig.autoRemove == true else { return try Mount.mountAll(layers, at: rootfs) }
        // `--rm`: the layer goes when the container exits, and a crash while it
        // runs removes it too (Reconcile), so nothing of it need reach the disk:
        // no sync at unmount, on the exit path `run --rm` waits for. A kernel
        // without `volatile` (before 5.10) gets the plain mount.
        // A mark left by an earlier volatile mount of this layer follows a clean
        // unmount (`restart`): a host crash under it ends in the container's
        // removal at berthd's start, never in another mount.
        for marker in layers.compactMap(\.volatileMarker) { Self.removeTree(marker) }
        do { try Mount.mountAll(layers.map(\.volatile), at: rootfs) } catch { try Mount.mountAll(layers, at: rootfs) }
    }

    /// The rootfs of a running task, from the host: through its shim's namespace.
    func taskRootfs(_ id: String, _ t: ContainerEntry.Task) -> String {
        ShimMountNamespace.path(bundle(id) + "/rootfs", shimPid: t.shimPid)
    }

    /// A bundle left by a task berthd lost track of (berthd killed in the middle
    /// of a start or an exit): its shim collected, its rootfs unmounted, its
    /// directory removed, so that a new task can start there.
    func clearStaleBundle(_ id: String) {
        let dir = bundle(id)
        guard access(dir, F_OK) == 0 else { return }
        if let data = FileManager.default.contents(atPath: dir + "/shim.json"), let v = try? JSONParser.parse(Array(data)),
           let address = v["address"]?.stringValue, let pid = v["pid"]?.int64Value {
            monitor.unwatch(containerID: id)
            discardShim(ContainerEntry.Task(address: address, shimPid: Int32(pid)), id: id)
        }
        _ = try? Mount.unmountAll(dir + "/rootfs", detach: true)
        Self.removeTree(dir)
    }

    /// 127 when the command is not found, 126 when it cannot be run, else 128 (Docker's codes).
    static func startFailureCode(_ message: String) -> Int {
        if message.contains("executable file not found") || message.contains("no such file or directory") { return 127 }
        if message.contains("permission denied") { return 126 }
        return 128
    }

    /// `berth-shim start`, running: the shim daemonizes and prints `{"address","pid"}`.
    func startShim(id: String, bundle: String) throws -> HostCommand.Running {
        try HostCommand.start(paths.shim, ["start", "--id", id, "--bundle", bundle, "--runtime", paths.runtime,
                                           "--runtime-root", paths.runtimeRoot, "--events", monitor.address, "--private-mounts"])
    }

    /// The shim `startShim` launched, once its `start` has printed where it listens.
    func shimStarted(_ launch: HostCommand.Running) throws -> ContainerEntry.Task {
        let res = launch.finish()
        guard res.status == 0, let line = res.stdout.split(separator: "\n").first,
              let v = try? JSONParser.parse(Array(line.utf8)), let out = try? StartOutput.decode(v) else {
            throw BerthError(.internal, "cannot start the shim: \(res.message)")
        }
        return ContainerEntry.Task(address: out.address, shimPid: Int32(out.pid))
    }

    func shimClient(_ t: ContainerEntry.Task) throws -> ShimClient {
        do { return try ShimClient(address: t.address) } catch {
            throw BerthError(.unavailable, "cannot reach the container's shim at \(t.address): \(error.message)")
        }
    }

    /// A shim call; the runtime's or the shim's error becomes the message.
    func shimCall<T>(_ body: () throws(RPCError) -> T) throws -> T {
        do { return try body() } catch {
            let code: BerthError.Code = error.code == RPCError.failedPrecondition ? .failedPrecondition
                : error.code == RPCError.notFound ? .notFound : .internal
            throw BerthError(code, error.message)
        }
    }

    /// `berth-shim delete`: collects the container of a shim that is gone and
    /// says how it ended (nil when it cannot tell).
    @discardableResult
    func collectWithShimDelete(_ id: String) -> ExitInfo? {
        let res = try? HostCommand.run(paths.shim, ["delete", "--id", id, "--bundle", bundle(id),
                                                    "--runtime", paths.runtime, "--runtime-root", paths.runtimeRoot])
        guard res?.status == 0, let line = res?.stdout.split(separator: "\n").first,
              let v = try? JSONParser.parse(Array(line.utf8)) else { return nil }
        return try? ExitInfo.decode(v)
    }

    /// Gets rid of a shim whose task failed to start: delete (forced) and shut down.
    func discardShim(_ t: ContainerEntry.Task, id: String) {
        if let c = try? ShimClient(address: t.address) {
            _ = try? c.kill(signal: 9, all: true)
            _ = try? c.delete()
            _ = try? c.shutdown(force: true)
        }
        // The shim is not berthd's child (it daemonized); wait for it to be gone.
        for _ in 0..<200 where Glibc.kill(t.shimPid, 0) == 0 { usleep(5000) }
        collectWithShimDelete(id)
    }

    // MARK: Exits

    /// A shim's event (on the monitor's thread: slow work goes to a thread of its own).
    func shimEvent(_ e: ShimMonitor.Event) {
        guard let entry = try? self.entry(e.containerID), entry.id == e.containerID else { return }
        switch e.topic {
        case "exit":
            // The event carries ExitInfo's fields (and seq, topic, time, ignored here).
            guard let info = try? ExitInfo.decode(e.params) else {
                logger.error("container \(entry.record.shortID): unreadable exit event from its shim")
                return
            }
            Thread.detach { [self] in taskExited(entry, info) }
        case "oom":
            emit("oom", entry.record)
        case "execExited":
            if let execID = e.params["execID"]?.stringValue {
                execExited(execID, status: Int(e.params["exitStatus"]?.int64Value ?? 255))
            }
        default:
            break
        }
    }

    /// A watched shim died without being told to: its container is collected
    /// by `berth-shim delete`, which reports the exit (137 when the shim's
    /// death killed it).
    func shimDied(_ id: String, pid: Int32) {
        guard let entry = try? self.entry(id), entry.id == id else { return }
        Thread.detach { [self] in
            let info = collectWithShimDelete(id) ?? ExitInfo(id: id, pid: 0, exitStatus: 255, exitedAt: Clock.rfc3339(),
                                                              reason: "the shim (pid \(pid)) died")
            logger.warn("the shim of container \(entry.record.shortID) died; exit status \(info.exitStatus)")
            taskExited(entry, info, shimGone: true)
        }
    }

    /// Handles one exit of the container's task (a second report of the same exit finds no task and does nothing).
    func taskExited(_ entry: ContainerEntry, _ reported: ExitInfo, shimGone: Bool = false) {
        exitsInProgress.withLock { $0 += 1 }
        defer { exitsInProgress.withLock { $0 -= 1 } }
        var times = StepTimes()
        var quick: (task: ContainerEntry.Task, record: ContainerRecord, collections: Int)?
        let after: (record: ContainerRecord, autoRemove: Bool)? = entry.locked { g in
            guard let task = g.task else { return nil }
            monitor.unwatch(containerID: entry.id)
            g.task = nil
            // Execs die with the task; their sessions go with it.
            execs.withLock { t in t = t.filter { $0.value.containerID != entry.id } }
            var r = g.record
            let autoRemove = r.hostConfig.autoRemove == true && !g.keepAtExit
            if autoRemove, let removed = removeAtExit(g, reported) {
                quick = (task, removed, images.collections.load(ordering: .relaxed))
                times.mark("record")
                return nil
            }
            let info = tearDown(task, &r, shimGone: shimGone, layers: autoRemove, times: &times) ?? reported
            Self.recordExit(&r, info)
            g.record = r
            persist(r)
            emit("die", r, ["exitCode": String(info.exitStatus)])
            // `--rm`: its layers are gone already; nothing may start it again before `remove`.
            if autoRemove { g.record.state.status = .removing }
            g.exitHandled()
            times.mark("record")
            return (r, autoRemove)
        }
        if var (task, r, collections) = quick {
            // Gone for the user already (`run --rm` has returned); what is left of it goes now.
            _ = tearDown(task, &r, shimGone: shimGone, layers: true, times: &times)
            Self.removeTree(persistentDirectory(r.id))
            tearingDown.withLock { $0.subtract([r.snapshotKey, Self.initLayerName(r.id)]) }
            // A collection that ran meanwhile kept the image's layers under these; one more finds them free.
            if images.collections.load(ordering: .relaxed) != collections { _ = try? images.collectGarbage() }
            times.mark("teardown")
            logger.debug("container exit handled (--rm)", ["id": r.shortID, "steps": times.text])
            return
        }
        guard let (r, autoRemove) = after else { return }
        afterExit(entry, r, autoRemove: autoRemove)
        times.mark("remove")
        logger.debug("container exit handled", ["id": r.shortID, "steps": times.text])
    }

    /// At berthd's shutdown: the exits being handled are let finish, until `deadline`.
    func finishExitHandling(deadline: Int64) {
        while exitsInProgress.withLock({ $0 }) > 0 && Clock.monotonicMillis() < deadline { usleep(5_000) }
        let left = exitsInProgress.withLock { $0 }
        if left > 0 { logger.warn("container exits still being handled at shutdown", ["count": String(left)]) }
    }

    /// `--rm` at the exit, for a container with no volume and no published port:
    /// the exit is recorded (`die`), then the record goes at once (`destroy`;
    /// `wait --condition removed`, and so `run --rm`, return) and the caller
    /// tears the task down afterwards, on the exit's thread. Those need nothing
    /// the user can see: the shim and the runtime's state, the rootfs mount, the
    /// network namespace and address, the layers, the bundle and the log. A
    /// crash before that ends leaves them without a record, and the next start
    /// collects them (Reconcile's sweep, then the image garbage collection).
    /// Volumes, published ports and user-defined networks are released where
    /// the user would see them (`volume rm`, a new `-p` on the same port,
    /// `network rm`): those containers are removed the slow way. nil when this
    /// does not apply (or the record could not be deleted: the slow way tries again).
    private func removeAtExit(_ g: ContainerEntry.Guarded, _ info: ExitInfo) -> ContainerRecord? {
        var r = g.record
        guard r.hostConfig.autoRemove == true, (r.publishedPorts ?? []).isEmpty,
              !(r.mounts ?? []).contains(where: { $0.type == .volume }),
              (r.networks ?? []).allSatisfy({ (try? networking.network($0.networkID))?.predefined == true }) else { return nil }
        Self.recordExit(&r, info)
        r.state.status = .removing
        tearingDown.withLock { $0.formUnion([r.snapshotKey, Self.initLayerName(r.id)]) }
        do { try store.delete(r.id) } catch {
            tearingDown.withLock { $0.subtract([r.snapshotKey, Self.initLayerName(r.id)]) }
            logger.warn("container \(r.shortID) (--rm): cannot delete its record at its exit: \(error)")
            return nil
        }
        g.record = r
        emit("die", r, ["exitCode": String(info.exitStatus)])
        g.removed = true
        drop(r.id, name: r.name)
        emit("destroy", r)
        g.exitHandled()
        return r
    }

    /// What the exited task `task` leaves. The shim's delete (the runtime's: an
    /// exec and the container's cgroups, 3–10 ms) runs on a thread of its own
    /// while berthd undoes its own part, which needs nothing from the runtime:
    /// the rootfs, the volumes, the network, with `layers` the container's two
    /// layers. The bundle goes once the shim has left it. The shim's exit
    /// information, when it gave one.
    func tearDown(_ task: ContainerEntry.Task, _ r: inout ContainerRecord, shimGone: Bool, layers: Bool,
                  times: inout StepTimes) -> ExitInfo? {
        let shimDone: Joinable<ExitInfo?>? = shimGone ? nil : Joinable {
            guard let c = try? ShimClient(address: task.address) else { return nil }
            let deleted = try? c.delete()
            _ = try? c.shutdown(force: true)
            return deleted
        }
        let dir = bundle(r.id)
        _ = try? Mount.unmountAll(dir + "/rootfs", detach: true)
        times.mark("umount")
        releaseMounts(r)
        networking.detach(&r)
        times.mark("network")
        if layers { removeLayers(r) }
        times.mark("layers")
        let info = shimDone?.join() ?? nil
        times.mark("shim")
        Self.removeTree(dir)
        return info
    }

    static func recordExit(_ r: inout ContainerRecord, _ info: ExitInfo) {
        r.state.status = .exited
        r.state.pid = 0
        r.state.exitCode = info.exitStatus
        r.state.oomKilled = info.oomKilled ?? false
        r.state.finishedAt = nanos(rfc3339: info.exitedAt) ?? now()
        if let reason = info.reason { r.state.error = reason }
    }

    /// `--rm`, then the restart policy.
    func afterExit(_ entry: ContainerEntry, _ r: ContainerRecord, autoRemove: Bool) {
        if autoRemove {
            do { try remove(entry, force: true, volumes: true) } catch {
                logger.error("cannot remove container \(r.shortID) after its exit (--rm): \(error)")
            }
            return
        }
        scheduleRestartIfDue(entry)
    }

    static func nanos(rfc3339 s: String) -> Int64? {
        guard let secs = RFC3339.unixSeconds(s) else { return nil }
        var frac: Int64 = 0
        if let dot = s.firstIndex(of: ".") {
            var digits = s[s.index(after: dot)...].prefix(while: { $0.isNumber })
            while digits.count < 9 { digits += "0" }
            frac = Int64(digits.prefix(9)) ?? 0
        }
        return secs * 1_000_000_000 + frac
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BerthError(.internal, "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; throw BerthError(.internal, "cannot write \(path): \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// Docker's sizes: "10m", "1g", "512k", "100" (bytes).
    static func parseSize(_ s: String) -> Int64? {
        let lower = s.lowercased()
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (suffix, mult) in units where lower.hasSuffix(suffix) {
            guard let v = Double(lower.dropLast(suffix.count)) else { return nil }
            return Int64(v * Double(mult))
        }
        return Int64(lower)
    }
}
