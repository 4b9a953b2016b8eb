import CBerth
import Glibc
import OCI

/// A container whose init is parked on the exec fifo.
struct CreatedContainer {
    let state: ContainerState
    /// The pty master when `create` made its own console (foreground `run`).
    let consoleMaster: Int32?
}

extension Runtime {
    public func create(id: String, _ opts: CreateOptions) throws(RuntimeError) {
        let created = try create(id: id, opts, ownConsole: false)
        if let m = created.consoleMaster { close(m) }
    }

    /// create(1): validate, reserve the id, make the cgroup, clone the init into
    /// its namespaces and walk it through the sync protocol (SyncChannel) until it
    /// parks on the exec fifo. On any failure everything made so far is undone.
    func create(id: String, _ opts: CreateOptions, ownConsole: Bool) throws(RuntimeError) -> CreatedContainer {
        try StateStore.validate(id: id)
        if store.exists(id) { throw RuntimeError("container with given ID already exists: \(id)") }
        let bundle = try Bundle.load(opts.bundle)
        let spec = bundle.spec
        guard let process = spec.process else { throw RuntimeError("config.json: process property must not be empty") }
        let terminal = process.terminal == true
        if terminal && opts.consoleSocket == nil && !ownConsole {
            throw RuntimeError("cannot allocate tty if runc will detach without setting console socket")
        }
        if !terminal && opts.consoleSocket != nil {
            throw RuntimeError("cannot use console socket if runc will not detach or allocate tty")
        }
        let caps = try Capability.sets(process.capabilities, log: log)
        let namespaces = (spec.linux?.namespaces ?? []).map { (NamespaceKind(rawValue: $0.type)!, $0.path) }
        let cgroupPath = try Cgroups.resolvePath(spec.linux?.cgroupsPath, id: id, systemd: options.systemdCgroup)
        let host = CgroupHost.current
        let pidFile = opts.pidFile.map(FS.absolute)

        try store.reserve(id)
        var pid: pid_t = 0
        var pidfd: Int32 = -1
        var cgroup: (any Cgroup)?
        var fdsToClose: [Int32] = []
        var hookState: JSONValue?
        defer { fdsToClose.forEach { close($0) } }
        do throws(RuntimeError) {
            let fifo = store.fifo(id)
            try check("mkfifo \(fifo)") { mkfifo(fifo, 0o622) }
            var state = ContainerState(
                id: id, pid: 0, pidStartTime: 0, bundle: bundle.path, rootfs: bundle.rootfs, created: Clock.rfc3339(),
                owner: "", annotations: (spec.annotations ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                cgroupPath: cgroupPath, namespaces: [], sharesHostPidNamespace: !namespaces.contains { $0.0 == .pid },
                config: persistedConfig(bundle.raw))
            // Saved before anything else exists, so a create killed from here on
            // still leaves a container that `delete` can clean up.
            try store.save(state)

            var cg: (any Cgroup)? = Cgroups.open(path: cgroupPath, host: host, devices: spec.linux?.devices ?? [], log: log)
            cgroup = cg
            do { try cg?.create(spec.linux?.resources) } catch {
                // A non-root caller whose cgroups are not delegated runs without one,
                // as runc does rootless; limits it cannot apply are still an error.
                guard Runtime.isRootless, spec.linux?.resources.map(Runtime.hasLimits) != true else { throw error }
                log.debug("rootless: running without a cgroup: \(error.message)")
                try? cg?.destroy()
                cg = nil
                cgroup = nil
                state.cgroupPath = ""
                try store.save(state)
            }

            var consoleSocket: Int32?
            var ourConsoleEnd: Int32?
            if let path = opts.consoleSocket, terminal {
                consoleSocket = lift(try Console.connect(path), above: opts.preserveFDs)
            } else if terminal {
                let pair = try Console.socketPair()
                ourConsoleEnd = pair.ours
                consoleSocket = lift(pair.theirs, above: opts.preserveFDs)
            }
            if let c = consoleSocket { fdsToClose.append(c) }
            if let c = ourConsoleEnd { fdsToClose.append(c) }

            // Opened here, by root on the host, and inherited: the init may already be
            // an unprivileged user of its own user namespace when it needs the fifo.
            // Read-write, so the open does not block; `start` writes one byte to it.
            let fifoFD = lift(cb_open(fifo, O_RDWR | O_CLOEXEC, 0), above: opts.preserveFDs)
            if fifoFD < 0 { throw RuntimeError.sys("open exec fifo \(fifo)") }
            fdsToClose.append(fifoFD)
            let pair = try SyncChannel.pair()
            let parentSync = SyncChannel(fd: lift(pair.parent.fd, above: opts.preserveFDs))
            let childSync = SyncChannel(fd: lift(pair.child.fd, above: opts.preserveFDs))
            fdsToClose.append(parentSync.fd)
            // Compiled here, where --root (and its cache) is still reachable; the
            // init only loads it, as late as ever.
            let seccompProgram = spec.linux?.seccomp.flatMap {
                SeccompCache.program($0, raw: bundle.raw["linux"]?["seccomp"], root: store.root, log: log)
            }
            let plan = InitPlan(spec: spec, process: process, rootfs: bundle.rootfs, fifoFD: fifoFD, namespaces: namespaces,
                                cgroupPath: cgroupPath, cgroupHost: host,
                                cgroupTaskFiles: Self.selfJoinFiles(cg, userNamespace: namespaces.contains { $0.0 == .user }),
                                consoleSocket: consoleSocket, noPivot: opts.noPivot,
                                preserveFDs: opts.preserveFDs, caps: caps, seccompProgram: seccompProgram, log: log)

            // execCPUAffinity.initial: where the process runs until it reaches its cgroup.
            try Scheduling.setAffinity(process.execCPUAffinity?.initial, field: "initial")
            // Relative bind sources in config.json are relative to the bundle.
            try check("chdir \(bundle.path)") { chdir(bundle.path) }
            let cloneCgroupFD = cg?.cloneFD().map { lift($0, above: opts.preserveFDs) }
            if let fd = cloneCgroupFD { fdsToClose.append(fd) }
            var usedCgroupFD: Int32 = 0
            pid = try withPidNamespace(plan.path(.pid)) { () throws(RuntimeError) -> pid_t in
                let p = cb_clone(plan.cloneFlags, cloneCgroupFD ?? -1, &pidfd, &usedCgroupFD)
                if p < 0 { throw RuntimeError.sys("clone the container init") }
                if p == 0 {
                    parentSync.close()
                    InitProcess.run(plan, sync: childSync)
                }
                return p
            }
            childSync.close()
            if let c = consoleSocket { close(c); fdsToClose.removeAll { $0 == c } }
            // Recorded at once: the init dies with us (PDEATHSIG) until `go`, and from
            // then on a killed create leaves a state that `delete` can clean up.
            state.pid = pid
            state.pidStartTime = ProcInfo.stat(pid)?.startTime ?? 0
            state.namespaces = NamespaceKind.allCases.map { "/proc/\(pid)/ns/\($0.procName)" }
            try store.save(state)
            try cg?.add(pid, placed: CgroupPlacement(cloned: usedCgroupFD != 0, threadJoined: !plan.cgroupTaskFiles.isEmpty))
            if plan.isNew(.user) { try writeIDMaps(pid: pid, spec.linux!) }
            parentSync.send(.go)
            ExecutableSeal.leavePrivateNamespace()

            _ = try parentSync.expect(.hooks, orElse: Self.initVanished)
            // The environment exists by now; the validation suite (hooks_stdin) expects
            // "created" here, where runc says "creating".
            let created = state.specState(.created)
            hookState = created
            try HookRunner.run(.prestart, spec.hooks?.prestart, state: created)
            try HookRunner.run(.createRuntime, spec.hooks?.createRuntime, state: created)
            parentSync.send(.hooksDone, JSONWriter.write(created))

            _ = try parentSync.expect(.ready, orElse: Self.initVanished) { (fd) throws(RuntimeError) in
                if let sc = spec.linux?.seccomp {
                    try SeccompFilter.sendToAgent(sc, fd: fd, pid: pid, state: state.specState(.creating))
                }
            }
            var master: Int32?
            if let ours = ourConsoleEnd { master = try Console.receiveMaster(ours) }
            if let pidFile { try FS.writeAtomically(pidFile, Array(String(pid).utf8)) }
            if pidfd >= 0 { close(pidfd) }
            return CreatedContainer(state: state, consoleMaster: master)
        } catch {
            // An init the OOM killer took shows up as "exited unexpectedly"; name
            // the cause. Read before our own SIGKILL and before the cgroup goes.
            let oomKilled = pid > 0 && (cgroup?.oomKillCount() ?? 0) > 0
            var error = error
            if pid > 0 {
                // An init that vanished says how, when it ends within a moment
                // (its sync socket closes just before it becomes a zombie).
                if error.message == Self.initVanished, let how = Self.howItEnded(pid, withinMilliseconds: 100) {
                    error = RuntimeError(Self.initVanished + " (\(how))")
                } else {
                    Glibc.kill(pid, SIGKILL)
                    var st: Int32 = 0
                    while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
                }
            }
            if pidfd >= 0 { close(pidfd) }
            try? cgroup?.destroy()
            // A failing create-time hook stops the container and continues the
            // lifecycle at destroy, which runs the poststop hooks (runtime.md).
            if let hookState {
                HookRunner.runAll(.poststop, spec.hooks?.poststop, state: hookState.setting("status", to: "stopped"), log: log)
            }
            store.remove(id)
            throw oomKilled ? RuntimeError("container init was OOM-killed (memory limit too low?)") : error
        }
    }

    static let initVanished = "container init exited unexpectedly during create"

    /// "exit status 1" or "killed by SIGSEGV" once `pid` (our child) has
    /// ended, waiting for it at most `ms`; nil while it still runs.
    static func howItEnded(_ pid: pid_t, withinMilliseconds ms: Int) -> String? {
        for _ in 0...(ms / 5) {
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid {
                // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (macros in C).
                let sig = st & 0x7f
                return sig == 0 ? "exit status \((st >> 8) & 0xff)" : "killed by \(Signals.name(sig))"
            }
            if r < 0 && errno != EINTR { return nil }
            usleep(5_000)
        }
        return nil
    }

    /// What later commands need from config.json: the process (defaults for
    /// exec) and the hooks (poststart, poststop).
    func persistedConfig(_ raw: JSONValue) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let p = raw["process"] { pairs.append(("process", p)) }
        if let h = raw["hooks"] { pairs.append(("hooks", h)) }
        if let sc = raw["linux"]?["seccomp"] { pairs.append(("seccomp", sc)) }
        return .object(pairs)
    }

    /// The `tasks` files a new init or exec process writes itself into
    /// (Cgroup.threadJoinFiles); none from inside a user namespace, whose root
    /// may not write the host's cgroup files, nor for a rootless caller: the
    /// runtime then writes `cgroup.procs` for it, as before.
    static func selfJoinFiles(_ cg: (any Cgroup)?, userNamespace: Bool) -> [String] {
        guard let cg, !userNamespace, !Runtime.isRootless else { return [] }
        return cg.threadJoinFiles()
    }

    /// Runs `body` with our children's pid namespace set to `path` (joining an
    /// existing pid namespace only affects children), then switches back.
    func withPidNamespace<T>(_ path: String?, _ body: () throws(RuntimeError) -> T) throws(RuntimeError) -> T {
        guard let path else { return try body() }
        let own = cb_open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC, 0)
        let target = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
        defer { if own >= 0 { close(own) }; if target >= 0 { close(target) } }
        if target < 0 { throw RuntimeError.sys("open pid namespace \(path)") }
        try check("join pid namespace \(path)") { cb_setns(target, NamespaceKind.pid.cloneFlag) }
        defer { _ = cb_setns(own, NamespaceKind.pid.cloneFlag) }
        return try body()
    }

    func writeIDMaps(pid: pid_t, _ linux: Linux) throws(RuntimeError) {
        func text(_ maps: [IDMapping]?) -> String {
            (maps ?? []).map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
        }
        try FS.writeExisting("/proc/\(pid)/uid_map", text(linux.uidMappings))
        // An unprivileged writer may map its own gid only after giving up setgroups.
        if Runtime.isRootless { try FS.writeExisting("/proc/\(pid)/setgroups", "deny") }
        try FS.writeExisting("/proc/\(pid)/gid_map", text(linux.gidMappings))
    }

    static var isRootless: Bool { geteuid() != 0 }

    /// Whether resources ask for limits (the default device policy alone is not one).
    static func hasLimits(_ r: Resources) -> Bool {
        r.memory != nil || r.cpu != nil || r.pids != nil || r.blockIO != nil || r.hugepageLimits?.isEmpty == false
            || r.network != nil || r.rdma?.isEmpty == false || r.unified?.isEmpty == false
            || (r.devices ?? []).contains { $0.allow }
    }
}
