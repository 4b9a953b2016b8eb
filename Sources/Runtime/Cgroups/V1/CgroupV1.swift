import CBerth
import CgroupEvents
import Glibc
import OCI

/// cgroup v1: one directory per controller hierarchy, plus the hybrid unified
/// mount when present (no controllers there, but it keeps membership in step
/// with what systemd and other tools read). The limits of each controller are
/// in its own file (MemoryV1, CPUV1, …); this type owns the directories.
struct CgroupV1: Cgroup {
    let path: String
    let controllers: [String: String]
    let unified: String?
    /// Rules for the devices config.json creates (see DeviceRules).
    var extraAllowedDevices: [Resources.DeviceRule] = []
    var log = RuntimeLog()

    /// Each distinct mount point once (cpu and cpuacct are often co-mounted).
    var directories: [String] { controllerDirectories + (unifiedDirectory.map { [$0] } ?? []) }

    /// The v1 hierarchies' directories, each mount once.
    var controllerDirectories: [String] {
        var seen = Set<String>()
        var dirs: [String] = []
        // Sorted keys rather than sorted (key, value) pairs: same order, and no
        // generic metadata for an array of tuples to build at run time.
        for key in controllers.keys.sorted() {
            guard let mount = controllers[key], seen.insert(mount).inserted else { continue }
            dirs.append(mount + path)
        }
        return dirs
    }

    /// The hybrid layout's cgroup2 directory, when there is one.
    var unifiedDirectory: String? {
        guard let unified, !controllers.values.contains(unified) else { return nil }
        return unified + path
    }

    func dir(_ controller: String) -> String? { controllers[controller].map { $0 + path } }

    /// The directory of the controller a config field needs; a host without
    /// that controller is an error naming the field, never a dropped limit.
    func require(_ controller: String, for field: String) throws(RuntimeError) -> String {
        guard let d = dir(controller) else {
            throw RuntimeError("\(field): the \(controller) cgroup controller is not mounted on this host")
        }
        return d
    }

    func create(_ resources: Resources?) throws(RuntimeError) {
        for mount in Set(controllers.values).sorted() + (unified.map { [$0] } ?? []) {
            try makeDirectory(mount: mount)
        }
        try apply(resources, KnobWriter(journaling: false, log: log), devices: true)
    }

    /// mkdir -p under one hierarchy; new cpuset levels start from their parent's cpus and mems.
    private func makeDirectory(mount: String) throws(RuntimeError) {
        var current = mount
        let isCpuset = controllers["cpuset"] == mount
        for part in path.split(separator: "/") {
            let parent = current
            current += "/" + part
            if isCpuset && parent != mount { CPUSetV1.markCloneChildren(parent) }
            if mkdir(current, 0o755) != 0 {
                if errno == EEXIST { continue }
                throw RuntimeError.sys("create cgroup \(current)")
            }
            if isCpuset { CPUSetV1.inherit(from: parent, to: current) }
        }
    }

    func add(_ pid: pid_t, placed: CgroupPlacement) throws(RuntimeError) {
        if !placed.threadJoined {
            for d in controllerDirectories { try Cgroups.writeKnob(d, "cgroup.procs", String(pid)) }
        }
        if !placed.cloned, let u = unifiedDirectory { try Cgroups.writeKnob(u, "cgroup.procs", String(pid)) }
    }

    /// The unified directory: the clone places the process there, as a
    /// cgroup.procs write would, but without waiting on the global lock.
    func cloneFD() -> Int32? {
        guard let u = unifiedDirectory else { return nil }
        let fd = cb_open(u, CB_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        return fd >= 0 ? fd : nil
    }

    func threadJoinFiles() -> [String] { controllerDirectories.map { $0 + "/tasks" } }

    func pids() -> [pid_t] {
        for c in ["pids", "memory", "cpu", "freezer", "devices", "name=systemd"] {
            if let d = dir(c), let text = try? FS.readString(d + "/cgroup.procs") { return Cgroups.parsePids(text) }
        }
        return []
    }

    func freeze(_ frozen: Bool) throws(RuntimeError) {
        try FreezerV1.freeze(try require("freezer", for: frozen ? "pause" : "resume"), frozen)
    }

    func isFrozen() -> Bool { dir("freezer").map(FreezerV1.isFrozen) ?? false }

    func destroy() throws(RuntimeError) {
        var firstError: RuntimeError?
        for mount in Set(controllers.values).sorted() + (unified.map { [$0] } ?? []) {
            guard FS.isDirectory(mount + path) else { continue }
            do { try Cgroups.removeTree(root: mount, path: path) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    // MARK: limits

    /// Every resource in config-linux.md, controller by controller. Device rules
    /// only at create: `update` keeps them, as runc does (rewriting them would
    /// deny everything for a moment, since the list starts with "deny all").
    func apply(_ resources: Resources?, _ w: KnobWriter, devices: Bool) throws(RuntimeError) {
        let r = resources.map(ResourceConfig.normalized)
        if let m = r?.memory, MemoryV1.needed(m) {
            try MemoryV1.apply(m, dir: try require("memory", for: "linux.resources.memory"), w)
        }
        if let c = r?.cpu {
            if CPUV1.needed(c) { try CPUV1.apply(c, dir: try require("cpu", for: "linux.resources.cpu"), w) }
            if CPUSetV1.needed(c) { try CPUSetV1.apply(c, dir: try require("cpuset", for: "linux.resources.cpu.cpus/mems"), w) }
        }
        if let p = r?.pids { try PidsV1.apply(p, dir: try require("pids", for: "linux.resources.pids"), w) }
        if let h = r?.hugepageLimits, !h.isEmpty {
            try HugetlbV1.apply(h, dir: try require("hugetlb", for: "linux.resources.hugepageLimits"), w)
        }
        if let b = try ResourceConfig.blockIO(r), BlkioV1.needed(b) {
            try BlkioV1.apply(b, dir: try require("blkio", for: "linux.resources.blockIO"), w)
        }
        if let n = try ResourceConfig.network(r) {
            if let id = n.classID { try NetClsV1.apply(id, dir: try require("net_cls", for: "linux.resources.network.classID"), w) }
            if let p = n.priorities, !p.isEmpty {
                try NetPrioV1.apply(p, dir: try require("net_prio", for: "linux.resources.network.priorities"), w)
            }
        }
        if let rdma = r?.rdma, !rdma.isEmpty { try Rdma.apply(rdma, dir: try require("rdma", for: "linux.resources.rdma"), w) }
        // Without linux.resources.devices the default policy still applies where
        // the host has the controller; asked-for rules need it.
        if devices, r?.devices != nil || dir("devices") != nil {
            try DevicesV1.apply(r?.devices, extra: extraAllowedDevices, dir: try require("devices", for: "linux.resources.devices"), w)
        }
        if let u = r?.unified, !u.isEmpty {
            throw RuntimeError("linux.resources.unified: needs a cgroup v2 host, this host uses cgroup v1")
        }
    }

    // MARK: usage

    func stats() -> CgroupStats {
        var s = CgroupStats()
        if let d = dir("cpu") { CPUV1.stats(dir: d, into: &s) }
        if let d = dir("cpuacct") { CPUAcctV1.stats(dir: d, into: &s) }
        if let d = dir("cpuset") { CPUSetV1.stats(dir: d, into: &s) }
        if let d = dir("memory") { MemoryV1.stats(dir: d, into: &s) }
        if let d = dir("pids") { PidsV1.stats(dir: d, into: &s) }
        if let d = dir("blkio") { BlkioV1.stats(dir: d, into: &s) }
        if let d = dir("hugetlb") { HugetlbV1.stats(dir: d, into: &s) }
        return s
    }

    func oomKillCount() -> UInt64 { dir("memory").map(MemoryV1.oomKillCount) ?? 0 }

    func oomWatch() -> OOMWatch? { dir("memory").flatMap { OOMWatch.v1(memoryDir: $0) } }
}
