import CBerth
import Glibc
import OCI

/// cgroup v2: one directory in the unified hierarchy. Controllers must be
/// enabled in every ancestor's cgroup.subtree_control before their files appear.
struct CgroupV2: Cgroup {
    let path: String
    let root: String
    var dir: String { root + path }

    func create(_ resources: Resources?) throws(RuntimeError) {
        let available = (FS.readTrimmed(root + "/cgroup.controllers") ?? "").split(separator: " ").map(String.init)
        var current = root
        for part in path.split(separator: "/") {
            // Delegate every available controller down the path (the leaf holds processes, so it gets none).
            for c in available { try? FS.writeExisting(current + "/cgroup.subtree_control", "+" + c) }
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw RuntimeError.sys("create cgroup \(current)") }
        }
        if let resources { try apply(resources) }
    }

    func add(_ pid: pid_t) throws(RuntimeError) { try Cgroups.writeKnob(dir, "cgroup.procs", String(pid)) }

    func cloneFD() -> Int32? {
        let fd = cb_open(dir, CB_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        return fd >= 0 ? fd : nil
    }

    func pids() -> [pid_t] { Cgroups.parsePids((try? FS.readString(dir + "/cgroup.procs")) ?? "") }

    func freeze(_ frozen: Bool) throws(RuntimeError) {
        try Cgroups.writeKnob(dir, "cgroup.freeze", frozen ? "1" : "0")
        for _ in 0..<1000 {
            let events = (try? FS.readString(dir + "/cgroup.events")) ?? ""
            if events.includes("frozen \(frozen ? 1 : 0)") { return }
            usleep(1000)
        }
        throw RuntimeError("cgroup \(dir) did not \(frozen ? "freeze" : "thaw")")
    }

    func isFrozen() -> Bool { FS.readTrimmed(dir + "/cgroup.freeze") == "1" }

    func destroy() throws(RuntimeError) {
        guard FS.isDirectory(dir) else { return }
        try Cgroups.removeTree(root: root, path: path)
    }

    // MARK: limits

    func apply(_ r: Resources) throws(RuntimeError) {
        if let m = r.memory {
            if let limit = m.limit { try Cgroups.writeKnob(dir, "memory.max", limit > 0 ? String(limit) : "max") }
            if let res = m.reservation { try Cgroups.writeKnob(dir, "memory.low", res > 0 ? String(res) : "0") }
            if let swap = m.swap, swap != 0 {
                // OCI's swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
                let value: String
                if swap == -1 { value = "max" } else {
                    guard let limit = m.limit, limit > 0, swap >= limit else {
                        throw RuntimeError("linux.resources.memory.swap: needs a memory limit no larger than it on cgroup v2")
                    }
                    value = String(swap - limit)
                }
                try Cgroups.writeKnob(dir, "memory.swap.max", value)
            }
            if m.swappiness != nil { throw RuntimeError("linux.resources.memory.swappiness: not available on cgroup v2") }
            if m.disableOOMKiller == true { throw RuntimeError("linux.resources.memory.disableOOMKiller: not available on cgroup v2") }
            if m.kernel != nil || m.kernelTCP != nil { throw RuntimeError("linux.resources.memory.kernel/kernelTCP: not available on cgroup v2") }
        }
        if let c = r.cpu {
            if let s = c.shares, s > 0 {
                // The conversion runc and crun use: [2, 262144] maps onto [1, 10000].
                let weight = 1 + ((max(2, min(s, 262_144)) - 2) * 9999) / 262_142
                try Cgroups.writeKnob(dir, "cpu.weight", String(weight))
            }
            if c.quota != nil || c.period != nil {
                let quota = c.quota.map { $0 > 0 ? String($0) : "max" } ?? "max"
                try Cgroups.writeKnob(dir, "cpu.max", "\(quota) \(c.period ?? 100_000)")
            }
            if let b = c.burst { try Cgroups.writeKnob(dir, "cpu.max.burst", String(b)) }
            if let i = c.idle { try Cgroups.writeKnob(dir, "cpu.idle", String(i)) }
            if let cpus = c.cpus, !cpus.isEmpty { try Cgroups.writeKnob(dir, "cpuset.cpus", cpus) }
            if let mems = c.mems, !mems.isEmpty { try Cgroups.writeKnob(dir, "cpuset.mems", mems) }
            if c.realtimeRuntime != nil || c.realtimePeriod != nil {
                throw RuntimeError("linux.resources.cpu.realtimeRuntime/realtimePeriod: not available on cgroup v2")
            }
        }
        if let p = r.pids { try Cgroups.writeKnob(dir, "pids.max", p.limit > 0 ? String(p.limit) : "max") }
        if let h = r.hugepageLimits {
            for l in h {
                try Cgroups.validatePageSize(l.pageSize)
                try Cgroups.writeKnob(dir, "hugetlb.\(l.pageSize).max", String(l.limit))
            }
        }
        if let u = r.unified {
            for (k, v) in u.sorted(by: { $0.key < $1.key }) {
                guard !k.includes("/"), !k.hasPrefix(".") else { throw RuntimeError("linux.resources.unified: invalid key \(k.debugDescription)") }
                try Cgroups.writeKnob(dir, k, v)
            }
        }
        if let devices = r.devices, !DeviceRules.isDefaultPolicy(devices) {
            throw RuntimeError("linux.resources.devices: custom device rules need the cgroup v2 eBPF device filter, which berth-runtime does not implement yet")
        }
    }
}

extension DeviceRules {
    /// "deny all" (what `runc spec` writes) plus rules only allowing devices the
    /// default set already allows. On cgroup v2 without a device filter program the
    /// kernel enforces nothing, so only a policy no stricter in effect than the
    /// mount namespace's /dev is accepted; anything else is refused above.
    static func isDefaultPolicy(_ rules: [Resources.DeviceRule]) -> Bool {
        rules.allSatisfy { r in
            if !r.allow { return (r.type ?? "a") == "a" && r.major == nil && r.minor == nil }
            return defaultAllowed.contains { $0.type == r.type && $0.major == r.major && ($0.minor == r.minor || $0.minor == -1) }
        }
    }
}
