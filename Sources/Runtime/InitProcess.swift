import CBerth
import Glibc
import OCI

/// Everything the container init needs, prepared by `create` before the clone.
struct InitPlan {
    let spec: Spec
    let process: Process
    let rootfs: String
    let fifoFD: Int32
    let namespaces: [(NamespaceKind, String?)]
    let cgroupPath: String
    let cgroupHost: CgroupHost
    /// Written "0" by the init itself, first thing after `go` (Cgroup.threadJoinFiles).
    let cgroupTaskFiles: [String]
    let consoleSocket: Int32?
    let noPivot: Bool
    let preserveFDs: Int32
    let caps: Capability.Sets?
    /// linux.seccomp compiled by the runtime before the clone (SeccompCache).
    let seccompProgram: SeccompProgram?
    let log: RuntimeLog

    func has(_ k: NamespaceKind) -> Bool { namespaces.contains { $0.0 == k } }
    func isNew(_ k: NamespaceKind) -> Bool { namespaces.contains { $0.0 == k && $0.1 == nil } }
    func path(_ k: NamespaceKind) -> String? { namespaces.first { $0.0 == k }?.1 }

    /// Namespaces created by the clone itself. cgroup and time are unshared later
    /// in the child: the cgroup namespace must be rooted at the container's cgroup
    /// (joined after the clone on v1), and time offsets must be written before
    /// any process enters the time namespace.
    var cloneFlags: UInt64 {
        var f: Int32 = 0
        for (k, path) in namespaces where path == nil && k != .cgroup && k != .time { f |= k.cloneFlag }
        return UInt64(UInt32(bitPattern: f))
    }
}

/// The container's init, from the clone to execve. Runs single-threaded in the
/// child; reports failure on the sync channel and exits, never returns.
enum InitProcess {
    static func run(_ plan: InitPlan, sync: SyncChannel) -> Never {
        do {
            try setUp(plan, sync: sync)
        } catch {
            sync.send(.error, error.message)
            cb_exit(1)
        }
        cb_exit(1)
    }

    private static func setUp(_ plan: InitPlan, sync: SyncChannel) throws(RuntimeError) {
        _ = cb_set_pdeathsig(SIGKILL)
        _ = try sync.expect(.go, orElse: "runtime went away during create")
        _ = cb_set_pdeathsig(0)
        try Cgroups.joinAsThread(plan.cgroupTaskFiles)

        if !plan.has(.mount) { try ExecutableSeal.enterCallerMountNamespace() }
        ExecutableSeal.forgetCallerMountNamespace()
        // A new network namespace has lo down; runc brings it up, and programs
        // in a `--network none` container expect 127.0.0.1 to answer.
        // Before any user namespace is joined: the clone's capabilities rule the
        // namespace the clone made.
        if plan.isNew(.network) {
            let e = cb_loopback_up()
            if e != 0 { throw RuntimeError.sys("bring up lo in the new network namespace", e) }
        }
        if plan.isNew(.user) {
            try check("setresgid(0) in the user namespace") { cb_setresgid(0, 0, 0) }
            try check("setresuid(0) in the user namespace") { cb_setresuid(0, 0, 0) }
        }
        for kind in NamespaceKind.joinOrder where kind != .pid {
            guard let path = plan.path(kind) else { continue }
            let fd = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
            if fd < 0 { throw RuntimeError.sys("open \(kind.rawValue) namespace \(path)") }
            let r = cb_setns(fd, kind.cloneFlag)
            let e = errno
            close(fd)
            if r != 0 { throw RuntimeError.sys("join \(kind.rawValue) namespace \(path)", e) }
            if kind == .user {
                try check("setresgid(0) in the user namespace") { cb_setresgid(0, 0, 0) }
                try check("setresuid(0) in the user namespace") { cb_setresuid(0, 0, 0) }
            }
        }
        if plan.isNew(.cgroup) { try check("unshare cgroup namespace") { cb_unshare(NamespaceKind.cgroup.cloneFlag) } }
        if plan.isNew(.time) {
            try check("unshare time namespace") { cb_unshare(NamespaceKind.time.cloneFlag) }
            var text = ""
            for (clock, off) in (plan.spec.linux?.timeOffsets ?? [:]).sorted(by: { $0.key < $1.key }) {
                text += "\(clock) \(off.secs ?? 0) \(off.nanosecs ?? 0)\n"
            }
            if !text.isEmpty { try FS.writeExisting("/proc/self/timens_offsets", text) }
        }
        _ = setsid()
        if plan.isNew(.uts) || plan.path(.uts) != nil {
            if let h = plan.spec.hostname, !h.isEmpty { try check("sethostname \(h)") { sethostname(h, h.utf8.count) } }
            if let d = plan.spec.domainname, !d.isEmpty { try check("setdomainname \(d)") { setdomainname(d, d.utf8.count) } }
        }

        let rootfs = Rootfs(spec: plan.spec, rootfs: plan.rootfs, ownMountNamespace: plan.has(.mount), inUserNamespace: plan.has(.user),
                            newCgroupNamespace: plan.isNew(.cgroup), cgroupPath: plan.cgroupPath, cgroupHost: plan.cgroupHost)
        umask(0)
        try rootfs.prepare()

        let fifo = plan.fifoFD

        sync.send(.hooks)
        // The parent sends the container state along; hooks get it on stdin.
        let stateText = try sync.expect(.hooksDone, orElse: "runtime went away during create")
        let state = (try? JSONParser.parse(stateText)) ?? .null
        try HookRunner.run(.createContainer, plan.spec.hooks?.createContainer, state: state)

        try rootfs.pivot(noPivot: plan.noPivot)
        // Like runc: sysctls first, then readonlyPaths (often /proc/sys) and maskedPaths.
        for (key, value) in (plan.spec.linux?.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
            try FS.writeExisting("/proc/sys/" + key.replacingOccurrences(of: ".", with: "/"), value)
        }
        try rootfs.finish()

        let p = plan.process
        if p.terminal == true {
            guard let sock = plan.consoleSocket else { throw RuntimeError("process.terminal is set but there is no console socket") }
            try Console.setUp(socket: sock, size: p.consoleSize, bindConsole: true)
        }
        try ProcessSetup.setPersonality(plan.spec.linux?.personality)
        try Rlimits.apply(p.rlimits ?? [])
        try ProcessSetup.setOOMScoreAdj(p.oomScoreAdj)
        // Before the user switch: an RT I/O class or policy needs privileges.
        try Scheduling.apply(p)

        let env = ProcessSetup.environment(p.env ?? [], uid: p.user.uid)
        let executable = try Exec.lookPath(p.args![0], env: env)
        if chdir(p.cwd) != 0 { throw RuntimeError.sys("chdir to cwd (\(p.cwd.debugDescription)) set in config.json failed") }
        try ProcessSetup.finish(p, caps: plan.caps, seccomp: plan.spec.linux?.seccomp, seccompProgram: plan.seccompProgram,
                                setgroupsAllowed: setgroupsAllowed(plan), log: plan.log, sync: sync)
        umask(mode_t(p.user.umask ?? 0o022))
        try SecurityModules.applyOnExec(p)
        ProcessSetup.closeOnExec(from: 3 + plan.preserveFDs)

        sync.send(.ready)
        sync.close()

        // Parked here in the "created" state until `start` writes to the fifo.
        var byte: UInt8 = 0
        while true {
            let n = read(fifo, &byte, 1)
            if n == 1 { break }
            if n < 0 && errno == EINTR { continue }
            cb_exit(1)
        }
        close(fifo)

        do { try HookRunner.run(.startContainer, plan.spec.hooks?.startContainer, state: state.setting("status", to: "created")) } catch {
            cb_write_stderr("berth-runtime: \(error.message)\n")
            cb_exit(1)
        }
        cb_reset_signal_handlers()
        _ = cb_sigmask_unblock_all()
        Exec.execve(executable, p.args!, env)
        cb_write_stderr("berth-runtime: exec \(executable): \(errnoText(errno))\n")
        cb_exit(errno == ENOENT ? 127 : 126)
    }

    /// In a user namespace created without a mapping of the runtime's own ids,
    /// setgroups is allowed only when the map writer allowed it (we always do as root).
    static func setgroupsAllowed(_ plan: InitPlan) -> Bool {
        guard plan.has(.user) else { return true }
        return FS.readTrimmed("/proc/self/setgroups") != "deny"
    }
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
