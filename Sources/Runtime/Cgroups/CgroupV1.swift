import Glibc
import OCI

/// cgroup v1: one directory per controller hierarchy, plus the hybrid unified
/// mount when present (no controllers there, but it keeps membership in step
/// with what systemd and other tools read).
struct CgroupV1: Cgroup {
    let path: String
    let controllers: [String: String]
    let unified: String?

    init(path: String, controllers: [String: String], unified: String?) {
        self.path = path
        self.controllers = controllers
        self.unified = unified
    }

    /// Each distinct mount point once (cpu and cpuacct are usually co-mounted).
    var directories: [String] {
        var seen = Set<String>()
        var dirs: [String] = []
        for (_, mount) in controllers.sorted(by: { $0.key < $1.key }) where seen.insert(mount).inserted {
            dirs.append(mount + path)
        }
        if let unified, seen.insert(unified).inserted { dirs.append(unified + path) }
        return dirs
    }

    func dir(_ controller: String) -> String? { controllers[controller].map { $0 + path } }

    func create(_ resources: Resources?) throws(RuntimeError) {
        for mount in Set(controllers.values).sorted() + (unified.map { [$0] } ?? []) {
            try makeDirectory(mount: mount)
        }
        if let resources { try apply(resources) }
    }

    /// mkdir -p under one hierarchy. cpuset directories start with empty cpus and
    /// mems, which makes adding a task fail with ENOSPC, so each new level copies
    /// its parent's values.
    private func makeDirectory(mount: String) throws(RuntimeError) {
        var current = mount
        let isCpuset = controllers["cpuset"] == mount
        for part in path.split(separator: "/") {
            let parent = current
            current += "/" + part
            if mkdir(current, 0o755) != 0 {
                if errno == EEXIST { continue }
                throw RuntimeError.sys("create cgroup \(current)")
            }
            if isCpuset {
                for knob in ["cpuset.cpus", "cpuset.mems"] {
                    if let v = FS.readTrimmed(parent + "/" + knob), !v.isEmpty {
                        try? FS.writeExisting(current + "/" + knob, v)
                    }
                }
            }
        }
    }

    func add(_ pid: pid_t) throws(RuntimeError) {
        for d in directories { try Cgroups.writeKnob(d, "cgroup.procs", String(pid)) }
    }

    func cloneFD() -> Int32? { nil }

    func pids() -> [pid_t] {
        for c in ["pids", "memory", "cpu", "freezer", "devices", "name=systemd"] {
            if let d = dir(c), let text = try? FS.readString(d + "/cgroup.procs") { return Cgroups.parsePids(text) }
        }
        return []
    }

    func freeze(_ frozen: Bool) throws(RuntimeError) {
        guard let d = dir("freezer") else { throw RuntimeError("the freezer cgroup controller is not mounted") }
        try Cgroups.writeKnob(d, "freezer.state", frozen ? "FROZEN" : "THAWED")
        // FREEZING is transient; wait until the kernel reports the final state.
        for _ in 0..<1000 {
            let s = FS.readTrimmed(d + "/freezer.state") ?? ""
            if s == (frozen ? "FROZEN" : "THAWED") { return }
            if frozen { try Cgroups.writeKnob(d, "freezer.state", "FROZEN") }
            usleep(1000)
        }
        throw RuntimeError("cgroup \(d) did not reach \(frozen ? "FROZEN" : "THAWED")")
    }

    func isFrozen() -> Bool {
        guard let d = dir("freezer") else { return false }
        return FS.readTrimmed(d + "/freezer.state") == "FROZEN"
    }

    func destroy() throws(RuntimeError) {
        var firstError: RuntimeError?
        for mount in Set(controllers.values).sorted() + (unified.map { [$0] } ?? []) {
            guard FS.isDirectory(mount + path) else { continue }
            do { try Cgroups.removeTree(root: mount, path: path) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    // MARK: limits

    /// The devices config.json creates are usable in the container, as runc
    /// adds them to the allowlist; fifos need no rule.
    var extraAllowedDevices: [Resources.DeviceRule] = []
    var log = RuntimeLog()

    func apply(_ r: Resources) throws(RuntimeError) {
        if let m = r.memory { try applyMemory(m) }
        if let c = r.cpu { try applyCPU(c) }
        if let p = r.pids {
            guard let d = dir("pids") else { throw RuntimeError("linux.resources.pids: the pids cgroup controller is not mounted") }
            try Cgroups.writeKnob(d, "pids.max", p.limit > 0 ? String(p.limit) : "max")
        }
        if let h = r.hugepageLimits {
            for l in h {
                try Cgroups.validatePageSize(l.pageSize)
                guard let d = dir("hugetlb") else { throw RuntimeError("linux.resources.hugepageLimits: the hugetlb controller is not mounted") }
                try Cgroups.writeKnob(d, "hugetlb.\(l.pageSize).limit_in_bytes", String(l.limit))
            }
        }
        if let devices = r.devices { try applyDevices(devices) }
        if let u = r.unified, !u.isEmpty {
            throw RuntimeError("linux.resources.unified: needs a cgroup v2 host, this host uses cgroup v1")
        }
    }

    private func applyMemory(_ m: Resources.Memory) throws(RuntimeError) {
        guard let d = dir("memory") else { throw RuntimeError("linux.resources.memory: the memory cgroup controller is not mounted") }
        // memsw (memory+swap) must never be below the memory limit: set the limit
        // first unless the new swap value is the one that makes room.
        if let limit = m.limit {
            if let swap = m.swap, swap != 0 {
                guard FS.exists(d + "/memory.memsw.limit_in_bytes") else {
                    throw RuntimeError("linux.resources.memory.swap: swap accounting is not enabled on this host")
                }
                guard swap == -1 || limit == -1 || swap >= limit else {
                    throw RuntimeError("linux.resources.memory: swap (\(swap)) must be at least the memory limit (\(limit)), it counts memory plus swap")
                }
                // The kernel keeps memsw >= limit at every step: raising goes memsw
                // first, lowering goes limit first. Which one applies depends on the
                // current values, so try limit first and fall back to memsw first.
                do {
                    try Cgroups.writeKnob(d, "memory.limit_in_bytes", String(limit))
                    try Cgroups.writeKnob(d, "memory.memsw.limit_in_bytes", String(swap))
                } catch {
                    try Cgroups.writeKnob(d, "memory.memsw.limit_in_bytes", String(swap))
                    try Cgroups.writeKnob(d, "memory.limit_in_bytes", String(limit))
                }
            } else {
                try Cgroups.writeKnob(d, "memory.limit_in_bytes", String(limit))
            }
        } else if let swap = m.swap, swap != 0 {
            try Cgroups.writeKnob(d, "memory.memsw.limit_in_bytes", String(swap))
        }
        if let r = m.reservation { try Cgroups.writeKnob(d, "memory.soft_limit_in_bytes", String(r)) }
        if let s = m.swappiness {
            guard s <= 100 else { throw RuntimeError("linux.resources.memory.swappiness: \(s) is above 100") }
            try Cgroups.writeKnob(d, "memory.swappiness", String(s))
        }
        if m.disableOOMKiller == true { try Cgroups.writeKnob(d, "memory.oom_control", "1") }
        if let k = m.kernel {
            // Deprecated in the spec; kernels since 5.16 accept the write and ignore it.
            try Cgroups.writeKnob(d, "memory.kmem.limit_in_bytes", String(k))
            if let now = FS.readTrimmed(d + "/memory.kmem.limit_in_bytes").flatMap(Int64.init), k > 0, now > k + 4096 {
                log.warning("linux.resources.memory.kernel is ignored: this kernel no longer enforces kernel memory limits")
            }
        }
        if let k = m.kernelTCP { try Cgroups.writeKnob(d, "memory.kmem.tcp.limit_in_bytes", String(k)) }
    }

    private func applyCPU(_ c: Resources.CPU) throws(RuntimeError) {
        if c.shares != nil || c.quota != nil || c.period != nil || c.realtimeRuntime != nil || c.realtimePeriod != nil || c.burst != nil {
            guard let d = dir("cpu") else { throw RuntimeError("linux.resources.cpu: the cpu cgroup controller is not mounted") }
            if let s = c.shares { try Cgroups.writeKnob(d, "cpu.shares", String(s)) }
            if let p = c.period { try Cgroups.writeKnob(d, "cpu.cfs_period_us", String(p)) }
            if let q = c.quota { try Cgroups.writeKnob(d, "cpu.cfs_quota_us", String(q)) }
            if let b = c.burst { try Cgroups.writeKnob(d, "cpu.cfs_burst_us", String(b)) }
            if let p = c.realtimePeriod { try Cgroups.writeKnob(d, "cpu.rt_period_us", String(p)) }
            if let r = c.realtimeRuntime { try Cgroups.writeKnob(d, "cpu.rt_runtime_us", String(r)) }
        }
        if c.cpus != nil || c.mems != nil {
            guard let d = dir("cpuset") else { throw RuntimeError("linux.resources.cpu: the cpuset cgroup controller is not mounted") }
            if let cpus = c.cpus, !cpus.isEmpty { try Cgroups.writeKnob(d, "cpuset.cpus", cpus) }
            if let mems = c.mems, !mems.isEmpty { try Cgroups.writeKnob(d, "cpuset.mems", mems) }
        }
        if c.idle != nil { throw RuntimeError("linux.resources.cpu.idle: needs a cgroup v2 host") }
    }

    /// The v1 devices controller takes one rule per write, in order; the config's
    /// rules come first, then the devices every container needs (as runc adds them).
    private func applyDevices(_ rules: [Resources.DeviceRule]) throws(RuntimeError) {
        guard let d = dir("devices") else { throw RuntimeError("linux.resources.devices: the devices cgroup controller is not mounted") }
        for rule in rules + DeviceRules.defaultAllowed + extraAllowedDevices {
            try Cgroups.writeKnob(d, rule.allow ? "devices.allow" : "devices.deny", try DeviceRules.text(rule))
        }
    }
}

enum DeviceRules {
    static func rule(_ type: String, _ major: Int64, _ minor: Int64, _ access: String) -> Resources.DeviceRule {
        Resources.DeviceRule(allow: true, type: type, major: major, minor: minor, access: access)
    }

    /// null, zero, full, random, urandom, tty, console, ptmx, /dev/pts/*,
    /// /dev/net/tun and /dev/fuse are always usable, as in runc's default set.
    static let defaultAllowed: [Resources.DeviceRule] = [
        rule("c", 1, 3, "rwm"), rule("c", 1, 5, "rwm"), rule("c", 1, 7, "rwm"), rule("c", 1, 8, "rwm"),
        rule("c", 1, 9, "rwm"), rule("c", 5, 0, "rwm"), rule("c", 5, 1, "rwm"), rule("c", 5, 2, "rwm"),
        rule("c", 136, -1, "rwm"), rule("c", 10, 200, "rwm"), rule("c", 10, 229, "rwm"),
    ]

    static func text(_ r: Resources.DeviceRule) throws(RuntimeError) -> String {
        let type = r.type ?? "a"
        guard ["a", "c", "b"].contains(type) else { throw RuntimeError("linux.resources.devices: invalid type \(type.debugDescription)") }
        let access = r.access ?? "rwm"
        guard !access.isEmpty, access.allSatisfy({ "rwm".contains($0) }) else {
            throw RuntimeError("linux.resources.devices: invalid access \(access.debugDescription)")
        }
        let major = (r.major ?? -1) < 0 ? "*" : String(r.major!)
        let minor = (r.minor ?? -1) < 0 ? "*" : String(r.minor!)
        return "\(type) \(major):\(minor) \(access)"
    }
}
