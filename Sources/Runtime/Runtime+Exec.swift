import CBerth
import Glibc
import OCI

extension Runtime {
    /// exec(1): a new process in a running container's namespaces and cgroup.
    /// Detached, it returns once the process has exec'd; in the foreground it
    /// returns the process's exit status.
    public func exec(id: String, _ opts: ExecOptions) throws(RuntimeError) -> Int32 {
        let s = try load(id)
        switch status(s) {
        case .running, .created: break
        case .paused: if !opts.ignorePaused { throw RuntimeError("cannot exec in a paused container (use --ignore-paused to override)") }
        case .stopped, .creating: throw RuntimeError("cannot exec in a stopped container")
        }
        let process = try execProcess(s, opts)
        try ConfigValidator.validate(process, requireSupport: true)
        try SecurityModules.validate(exec: process)
        let terminal = process.terminal == true
        if terminal && opts.detach && opts.consoleSocket == nil {
            throw RuntimeError("cannot allocate tty if runc will detach without setting console socket")
        }
        if !terminal && opts.consoleSocket != nil {
            throw RuntimeError("cannot use console socket if runc will not detach or allocate tty")
        }
        let caps = try Capability.sets(process.capabilities, log: log)
        let pidFile = opts.pidFile.map(FS.absolute)
        // An exec'd process runs under the container's seccomp profile, as in runc.
        let seccomp = try s.config["seccomp"].map { (v) throws(RuntimeError) -> Seccomp in
            do { return try JSONValueDecoder().decode(Seccomp.self, from: v) } catch {
                throw RuntimeError("state of \(id): seccomp: \(error)")
            }
        }

        // The namespaces to enter: those of the init that differ from ours.
        var joins: [(NamespaceKind, Int32)] = []
        defer { joins.forEach { close($0.1) } }
        for kind in NamespaceKind.joinOrder {
            let theirs = "/proc/\(s.pid)/ns/\(kind.procName)"
            if sameNamespace(kind, theirs, "/proc/self/ns/\(kind.procName)") { continue }
            let fd = cb_open(theirs, O_RDONLY | O_CLOEXEC, 0)
            if fd < 0 {
                if errno == ENOENT { continue }
                throw RuntimeError.sys("open \(theirs)")
            }
            joins.append((kind, lift(fd, above: opts.preserveFDs)))
        }

        var consoleSocket: Int32?
        var ourConsoleEnd: Int32?
        if terminal {
            if let path = opts.consoleSocket {
                consoleSocket = lift(try Console.connect(path), above: opts.preserveFDs)
            } else {
                let pair = try Console.socketPair()
                ourConsoleEnd = pair.ours
                consoleSocket = lift(pair.theirs, above: opts.preserveFDs)
            }
        }
        defer { if let c = ourConsoleEnd { close(c) } }

        let pair = try SyncChannel.pair()
        let parentSync = SyncChannel(fd: lift(pair.parent.fd, above: opts.preserveFDs))
        let childSync = SyncChannel(fd: lift(pair.child.fd, above: opts.preserveFDs))
        defer { parentSync.close() }
        let cg = cgroup(of: s)
        let cgroupFD = cg?.cloneFD().map { lift($0, above: opts.preserveFDs) }
        defer { if let fd = cgroupFD { close(fd) } }
        let taskFiles = Self.selfJoinFiles(cg, userNamespace: joins.contains { $0.0 == .user })

        // Compiled before the clone: the exec process joins the container's mount
        // namespace, where --root and its cache are out of reach.
        let seccompProgram = seccomp.flatMap { SeccompCache.program($0, raw: s.config["seccomp"], root: store.root, log: log) }
        var usedCgroupFD: Int32 = 0
        var pidfd: Int32 = -1
        let pidNamespace = joins.first { $0.0 == .pid }.map { _ in "/proc/\(s.pid)/ns/pid" }
        let pid = try withPidNamespace(pidNamespace) { () throws(RuntimeError) -> pid_t in
            let p = cb_clone(0, cgroupFD ?? -1, &pidfd, &usedCgroupFD)
            if p < 0 { throw RuntimeError.sys("clone the exec process") }
            if p == 0 {
                parentSync.close()
                ExecProcess.run(process, cgroupTaskFiles: taskFiles, joins: joins, consoleSocket: consoleSocket, caps: caps, seccomp: seccomp,
                                seccompProgram: seccompProgram, preserveFDs: opts.preserveFDs, log: log, sync: childSync)
            }
            return p
        }
        if pidfd >= 0 { close(pidfd) }
        childSync.close()
        if let c = consoleSocket { close(c) }
        do throws(RuntimeError) {
            try cg?.add(pid, placed: CgroupPlacement(cloned: usedCgroupFD != 0, threadJoined: !taskFiles.isEmpty))
            parentSync.send(.go)
            ExecutableSeal.leavePrivateNamespace()
            // EOF means the process exec'd (the socket is close-on-exec).
            while let (tag, text, passed) = parentSync.receiveWithFD() {
                defer { if passed >= 0 { close(passed) } }
                if tag == .error { throw RuntimeError(text) }
                guard tag == .seccompFD, passed >= 0, let seccomp else { break }
                try SeccompFilter.sendToAgent(seccomp, fd: passed, pid: pid, state: s.specState(.running))
                parentSync.send(.seccompDone)
            }
        } catch {
            Glibc.kill(pid, SIGKILL)
            _ = Foreground.reapBlocking(pid)
            throw error
        }
        var master: Int32?
        if let ours = ourConsoleEnd { master = try Console.receiveMaster(ours) }
        if let pidFile { try FS.writeAtomically(pidFile, Array(String(pid).utf8)) }
        if opts.detach { return 0 }
        let signals = cb_signal_forwarding_pipe(1)
        return Foreground.wait(pid: pid, master: master, signalFD: signals)
    }

    /// The process to run: --process FILE as given, or the container's own
    /// process with the command-line overrides, as runc builds it. Its AppArmor
    /// profile and SELinux label: --apparmor/--process-label when given (also
    /// over a --process file's, where runc ignores them: a profile asked for is
    /// never dropped), else the process's own, else the container's, as in
    /// runc: an exec'd process in a confined container is never unconfined.
    func execProcess(_ s: ContainerState, _ o: ExecOptions) throws(RuntimeError) -> Process {
        var p = try execProcessBase(s, o)
        let container = s.config["process"]
        if let v = o.apparmorProfile, !v.isEmpty { p.apparmorProfile = v }
        if (p.apparmorProfile ?? "").isEmpty { p.apparmorProfile = container?["apparmorProfile"]?.stringValue }
        if let v = o.processLabel, !v.isEmpty { p.selinuxLabel = v }
        if (p.selinuxLabel ?? "").isEmpty { p.selinuxLabel = container?["selinuxLabel"]?.stringValue }
        return p
    }

    private func execProcessBase(_ s: ContainerState, _ o: ExecOptions) throws(RuntimeError) -> Process {
        if let file = o.processFile {
            let bytes = try FS.readBytes(file)
            do { return try JSONValueDecoder().decode(Process.self, from: bytes) } catch {
                throw RuntimeError("process file \(file): \(error)")
            }
        }
        guard !o.args.isEmpty else { throw RuntimeError("exec: no command given (args or --process)") }
        var p: Process
        if let base = s.config["process"], let decoded = try? JSONValueDecoder().decode(Process.self, from: base) {
            p = decoded
        } else {
            p = Process(user: User(uid: 0, gid: 0), args: [], env: [], cwd: "/")
        }
        p.args = o.args
        p.terminal = o.tty
        p.consoleSize = nil
        if let cwd = o.cwd { p.cwd = cwd }
        p.env = (p.env ?? []) + o.env
        if let u = o.user {
            let parts = u.split(separator: ":", omittingEmptySubsequences: false)
            guard let uid = UInt32(parts[0]), parts.count <= 2, parts.count == 1 || UInt32(parts[1]) != nil else {
                throw RuntimeError("invalid --user \(u.debugDescription): expected uid[:gid]")
            }
            p.user.uid = uid
            p.user.gid = parts.count == 2 ? UInt32(parts[1])! : 0
        }
        if !o.additionalGids.isEmpty { p.user.additionalGids = o.additionalGids }
        if !o.caps.isEmpty {
            var c = p.capabilities ?? Capabilities()
            for cap in o.caps {
                guard Capability.number(cap) != nil else { throw RuntimeError("unknown capability \(cap.debugDescription)") }
                c.bounding = (c.bounding ?? []) + [cap]
                c.effective = (c.effective ?? []) + [cap]
                c.permitted = (c.permitted ?? []) + [cap]
                c.ambient = (c.ambient ?? []) + [cap]
            }
            p.capabilities = c
        }
        if o.noNewPrivs { p.noNewPrivileges = true }
        return p
    }
}

/// The exec'd process, from the clone to execve.
enum ExecProcess {
    static func run(_ p: Process, cgroupTaskFiles: [String], joins: [(NamespaceKind, Int32)], consoleSocket: Int32?, caps: Capability.Sets?,
                    seccomp: Seccomp?, seccompProgram: SeccompProgram?, preserveFDs: Int32, log: RuntimeLog,
                    sync: SyncChannel) -> Never {
        do throws(RuntimeError) {
            _ = cb_set_pdeathsig(SIGKILL)
            _ = try sync.expect(.go, orElse: "runtime went away during exec")
            _ = cb_set_pdeathsig(0)
            try Cgroups.joinAsThread(cgroupTaskFiles)
            for (kind, fd) in joins where kind != .pid {
                try check("join the container's \(kind.rawValue) namespace") { cb_setns(fd, kind.cloneFlag) }
                if kind == .user {
                    try check("setresgid(0)") { cb_setresgid(0, 0, 0) }
                    try check("setresuid(0)") { cb_setresuid(0, 0, 0) }
                }
                close(fd)
            }
            _ = setsid()
            if p.terminal == true {
                guard let sock = consoleSocket else { throw RuntimeError("process.terminal is set but there is no console socket") }
                try Console.setUp(socket: sock, size: p.consoleSize, bindConsole: false)
            }
            try Rlimits.apply(p.rlimits ?? [])
            try ProcessSetup.setOOMScoreAdj(p.oomScoreAdj)
            try Scheduling.apply(p)
            let env = ProcessSetup.environment(p.env ?? [], uid: p.user.uid)
            let executable = try Exec.lookPath(p.args![0], env: env)
            if chdir(p.cwd) != 0 { throw RuntimeError.sys("chdir to cwd (\(p.cwd.debugDescription)) failed") }
            try ProcessSetup.finish(p, caps: caps, seccomp: seccomp, seccompProgram: seccompProgram, setgroupsAllowed: FS.readTrimmed("/proc/self/setgroups") != "deny",
                                    log: log, sync: sync)
            umask(mode_t(p.user.umask ?? 0o022))
            try SecurityModules.applyOnExec(p)
            ProcessSetup.closeOnExec(from: 3 + preserveFDs)
            cb_reset_signal_handlers()
            _ = cb_sigmask_unblock_all()
            Exec.execve(executable, p.args!, env)
            throw RuntimeError.sys("exec \(executable)")
        } catch {
            sync.send(.error, error.message)
            cb_exit(1)
        }
    }
}
