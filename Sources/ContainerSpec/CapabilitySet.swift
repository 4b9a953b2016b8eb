/// Docker's capability rules (moby daemon/pkg/oci/caps): the default set, `--cap-add`,
/// `--cap-drop` and `--privileged`.
public enum CapabilitySet {
    /// Every capability by number (linux/capability.h), CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40.
    /// A name is valid when it is here; a host grants those up to its cap_last_cap.
    public static let known: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
        "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// Docker's default set, in Docker's order.
    public static let defaults: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// The capabilities this host's kernel has (`lastCap` from /proc/sys/kernel/cap_last_cap):
    /// what `--privileged` and `--cap-add ALL` grant.
    public static func all(lastCap: Int) -> [String] {
        Array(known.prefix(max(0, min(lastCap, known.count - 1)) + 1))
    }

    /// The container's set (bounding = effective = permitted), as Docker's TweakCapabilities:
    /// privileged → all; `ALL` in add → all but the dropped; `ALL` in drop → only the added;
    /// otherwise the defaults minus the dropped plus the added. Names are case-insensitive,
    /// with or without `CAP_`.
    public static func resolve(add: [String], drop: [String], privileged: Bool, lastCap: Int) throws(ContainerSpecError) -> [String] {
        let all = all(lastCap: lastCap)
        if privileged { return all }
        if add.isEmpty && drop.isEmpty { return defaults }
        let adds = try add.map(normalize)
        let drops = try drop.map(normalize)
        var caps: [String]
        if adds.contains("ALL") {
            caps = all.filter { !drops.contains($0) }
        } else if drops.contains("ALL") {
            caps = adds
        } else {
            caps = defaults.filter { !drops.contains($0) } + adds
        }
        // Docker keeps duplicates; one entry per capability reads better and means the same.
        var seen = Set<String>()
        caps = caps.filter { $0 != "ALL" && seen.insert($0).inserted }
        return caps
    }

    /// "net_admin", "CAP_NET_ADMIN", "Net_Admin" → "CAP_NET_ADMIN"; "all" → "ALL".
    public static func normalize(_ name: String) throws(ContainerSpecError) -> String {
        let upper = name.uppercased()
        if upper == "ALL" { return "ALL" }
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        guard known.contains(full) else { throw ContainerSpecError(.invalidCapability, "invalid capability: \(name)") }
        return full
    }
}
