import CBerth
import Glibc
import OCI

/// Linux capability names as the spec writes them ("CAP_NET_BIND_SERVICE") and
/// their numbers. The five sets are applied in the order the kernel needs:
/// bounding set first (needs CAP_SETPCAP), then keep-caps across setuid, then
/// capset, then the ambient set.
enum Capability {
    static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// Read once: every capability name is checked against it.
    static let lastCap: Int = Int(cb_cap_last_cap())

    static func number(_ name: String) -> Int? {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        return names.firstIndex(of: full)
    }

    /// A mask of the named capabilities. Names unknown to this kernel are skipped
    /// with a warning, as runc does, so one config serves older and newer kernels.
    static func mask(_ list: [String]?, log: RuntimeLog) throws(RuntimeError) -> UInt64 {
        var m: UInt64 = 0
        for name in list ?? [] {
            guard let n = number(name) else { throw RuntimeError("unknown capability \(name.debugDescription)") }
            if n > lastCap {
                log.warning("capability \(name) is not supported by this kernel; ignoring it")
                continue
            }
            m |= 1 << UInt64(n)
        }
        return m
    }

    struct Sets {
        var bounding: UInt64, effective: UInt64, inheritable: UInt64, permitted: UInt64, ambient: UInt64
    }

    static func sets(_ caps: Capabilities?, log: RuntimeLog) throws(RuntimeError) -> Sets? {
        guard let caps else { return nil }
        return Sets(bounding: try mask(caps.bounding, log: log), effective: try mask(caps.effective, log: log),
                    inheritable: try mask(caps.inheritable, log: log), permitted: try mask(caps.permitted, log: log),
                    ambient: try mask(caps.ambient, log: log))
    }

    static func dropBounding(keeping keep: UInt64) throws(RuntimeError) {
        for cap in 0...lastCap where keep & (1 << UInt64(cap)) == 0 {
            if cb_capbset_drop(Int32(cap)) != 0 && errno != EINVAL {
                throw RuntimeError.sys("drop capability \(names[safe: cap] ?? String(cap)) from the bounding set")
            }
        }
    }

    static func apply(_ s: Sets) throws(RuntimeError) {
        try check("capset") { cb_capset(s.effective, s.permitted, s.inheritable) }
        _ = cb_cap_ambient_clear_all()
        // The kernel only raises ambient caps that are both permitted and
        // inheritable; `runc spec` lists ambient caps without inheritable ones and
        // runc proceeds without them, so a cap outside those sets is skipped.
        let raisable = s.ambient & s.permitted & s.inheritable
        for cap in 0...lastCap where raisable & (1 << UInt64(cap)) != 0 {
            try check("raise ambient capability \(names[safe: cap] ?? String(cap))") { cb_cap_ambient_raise(Int32(cap)) }
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
