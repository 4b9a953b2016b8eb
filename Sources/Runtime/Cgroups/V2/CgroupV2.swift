import CgroupEvents
import CBerth
import Glibc
import OCI

/// cgroup v2: one directory in the unified hierarchy. Controllers must be
/// enabled in every ancestor's cgroup.subtree_control before their files appear.
/// The limits of each controller are in its own file (MemoryV2, CPUV2, …).
struct CgroupV2: Cgroup {
    let path: String
    let root: String
    /// Rules for the devices config.json creates (see DeviceRules).
    var extraAllowedDevices: [Resources.DeviceRule] = []
    var log = RuntimeLog()
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
        try apply(resources, KnobWriter(journaling: false, log: log), devices: true)
    }

    func add(_ pid: pid_t, placed: CgroupPlacement) throws(RuntimeError) {
        if !placed.cloned { try Cgroups.writeKnob(dir, "cgroup.procs", String(pid)) }
    }

    func threadJoinFiles() -> [String] { [] }

    func cloneFD() -> Int32? {
        let fd = cb_open(dir, CB_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        return fd >= 0 ? fd : nil
    }

    func pids() -> [pid_t] { Cgroups.parsePids((try? FS.readString(dir + "/cgroup.procs")) ?? "") }

    func freeze(_ frozen: Bool) throws(RuntimeError) { try FreezerV2.freeze(dir, frozen) }

    func isFrozen() -> Bool { FreezerV2.isFrozen(dir) }

    func destroy() throws(RuntimeError) {
        guard FS.isDirectory(dir) else { return }
        try Cgroups.removeTree(root: root, path: path)
    }

    /// A controller a field needs must be enabled for this cgroup (listed in its
    /// cgroup.controllers, i.e. delegated by the parent); otherwise the field is
    /// named in the error rather than dropped.
    func require(_ controller: String, for field: String) throws(RuntimeError) {
        let enabled = (FS.readTrimmed(dir + "/cgroup.controllers") ?? "").split(separator: " ")
        guard enabled.contains(Substring(controller)) else {
            throw RuntimeError("\(field): the \(controller) controller is not enabled for cgroup \(path) on this host")
        }
    }

    // MARK: limits

    /// Every resource in config-linux.md. Device rules only at create: `update`
    /// keeps the filter program, as runc does.
    func apply(_ resources: Resources?, _ w: KnobWriter, devices: Bool) throws(RuntimeError) {
        let r = resources.map(ResourceConfig.normalized)
        if let m = r?.memory, MemoryV2.needed(m) {
            try require("memory", for: "linux.resources.memory")
            try MemoryV2.apply(m, dir: dir, w)
        }
        if let c = r?.cpu {
            if CPUV2.needed(c) { try require("cpu", for: "linux.resources.cpu"); try CPUV2.apply(c, dir: dir, w) }
            if CPUSetV2.needed(c) { try require("cpuset", for: "linux.resources.cpu.cpus/mems"); try CPUSetV2.apply(c, dir: dir, w) }
        }
        if let p = r?.pids { try require("pids", for: "linux.resources.pids"); try PidsV2.apply(p, dir: dir, w) }
        if let h = r?.hugepageLimits, !h.isEmpty {
            try require("hugetlb", for: "linux.resources.hugepageLimits")
            try HugetlbV2.apply(h, dir: dir, w)
        }
        if let b = try ResourceConfig.blockIO(r), IOV2.needed(b) {
            try require("io", for: "linux.resources.blockIO")
            try IOV2.apply(b, dir: dir, w)
        }
        if let n = try ResourceConfig.network(r), n.classID != nil || n.priorities?.isEmpty == false {
            throw RuntimeError("linux.resources.network: cgroup v2 has no net_cls or net_prio controller; classID and priorities need a cgroup v1 host")
        }
        if let rdma = r?.rdma, !rdma.isEmpty { try require("rdma", for: "linux.resources.rdma"); try Rdma.apply(rdma, dir: dir, w) }
        if let u = r?.unified, !u.isEmpty { try UnifiedV2.apply(u, dir: dir, w) }
        if devices { try DevicesV2.apply(DeviceRules.effective(r?.devices, extra: extraAllowedDevices), dir: dir) }
    }

    // MARK: usage

    func stats() -> CgroupStats {
        var s = CgroupStats()
        CPUV2.stats(dir: dir, into: &s)
        MemoryV2.stats(dir: dir, into: &s)
        PidsV2.stats(dir: dir, into: &s)
        IOV2.stats(dir: dir, into: &s)
        HugetlbV2.stats(dir: dir, into: &s)
        return s
    }

    func oomKillCount() -> UInt64 { CgroupFile.value(dir + "/memory.events", key: "oom_kill") ?? 0 }

    func oomWatch() -> OOMWatch? { OOMWatch.v2(dir: dir) }
}
