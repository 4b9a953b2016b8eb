import CBerth
import Glibc
import OCI

/// The last steps before execve, shared by the container init and `exec`:
/// identity, capabilities, no_new_privs, environment.
enum ProcessSetup {
    /// Switches to the process user. Capabilities survive the setuid through
    /// PR_SET_KEEPCAPS and are then set exactly by capset.
    static func switchUser(_ user: User, caps: Capability.Sets?, setgroupsAllowed: Bool) throws(RuntimeError) {
        if let caps { try Capability.dropBounding(keeping: caps.bounding) }
        try check("prctl(PR_SET_KEEPCAPS)") { cb_set_keepcaps(1) }
        if setgroupsAllowed {
            let groups = (user.additionalGids ?? []).map { gid_t($0) }
            try check("setgroups") { groups.withUnsafeBufferPointer { cb_setgroups($0.count, $0.baseAddress) } }
        } else if let extra = user.additionalGids, !extra.isEmpty {
            throw RuntimeError("process.user.additionalGids: setgroups is not allowed in this user namespace")
        }
        try check("setgid \(user.gid)") { cb_setresgid(user.gid, user.gid, user.gid) }
        try check("setuid \(user.uid)") { cb_setresuid(user.uid, user.uid, user.uid) }
        _ = cb_set_keepcaps(0)
        if let caps { try Capability.apply(caps) }
    }

    /// The last privileged steps before execve, in the order the kernel needs:
    /// without no_new_privs, loading a seccomp filter needs CAP_SYS_ADMIN, so it
    /// is loaded while we still have it; with no_new_privs it is loaded as late
    /// as possible, after the user switch.
    /// `seccompProgram` is the profile compiled beforehand by the runtime (SeccompCache).
    static func finish(_ p: Process, caps: Capability.Sets?, seccomp: Seccomp?, seccompProgram: SeccompProgram?,
                       setgroupsAllowed: Bool, log: RuntimeLog, sync: SyncChannel) throws(RuntimeError) {
        let nnp = p.noNewPrivileges == true
        if let seccomp, !nnp { try SeccompFilter.load(seccomp, program: seccompProgram, log: log, sync: sync) }
        try switchUser(p.user, caps: caps, setgroupsAllowed: setgroupsAllowed)
        if nnp { try check("prctl(PR_SET_NO_NEW_PRIVS)") { cb_set_no_new_privs() } }
        if let seccomp, nnp { try SeccompFilter.load(seccomp, program: seccompProgram, log: log, sync: sync) }
    }

    /// HOME from the container's /etc/passwd when the config leaves it unset, as runc does.
    static func environment(_ env: [String], uid: UInt32) -> [String] {
        if env.contains(where: { $0.hasPrefix("HOME=") }) { return env }
        var home = "/"
        if let passwd = try? FS.readString("/etc/passwd") {
            for line in passwd.split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count >= 6, UInt32(f[2]) == uid { home = String(f[5]); break }
            }
        }
        return env + ["HOME=" + home]
    }

    static func setOOMScoreAdj(_ v: Int?) throws(RuntimeError) {
        guard let v else { return }
        try FS.writeExisting("/proc/self/oom_score_adj", String(v))
    }

    static func setPersonality(_ p: Personality?) throws(RuntimeError) {
        guard let p else { return }
        let domain: UInt
        switch p.domain {
        case "LINUX": domain = 0
        case "LINUX32": domain = 0x0008
        default: throw RuntimeError("linux.personality.domain: unknown domain \(p.domain.debugDescription)")
        }
        if let flags = p.flags, !flags.isEmpty {
            throw RuntimeError("linux.personality.flags: not supported yet")
        }
        if cb_personality(domain) < 0 { throw RuntimeError.sys("personality \(p.domain)") }
    }

    /// Makes the runtime's own fds unreachable from the container: every fd from
    /// `from` up is close-on-exec (the CVE-2024-21626 class: a leaked host
    /// directory fd would let the container walk the host filesystem).
    static func closeOnExec(from: Int32) {
        _ = cb_cloexec_from(from)
    }
}
