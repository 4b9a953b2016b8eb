import CgroupEvents
import CBerth
import Glibc
import OCI

/// A container's cgroup, on whichever hierarchy the host has.
///
/// Lifecycle: `create` makes the directories and applies the limits before the
/// container's init exists; the init is then born in it (`cloneFD`, cgroup v2
/// with clone3) or moved in (`add`); `update` changes limits later; `destroy`
/// removes the directories once the processes are gone.
///
/// The drivers (V1/CgroupV1, V2/CgroupV2) own the directories; each resource
/// lives in one file per controller and version (V1/MemoryV1, V2/MemoryV2, …).
protocol Cgroup {
    /// The cgroupsPath, absolute from the hierarchy root ("/berth/abc").
    var path: String { get }
    func create(_ resources: Resources?) throws(RuntimeError)
    /// New limits for an existing cgroup (`update`). Device rules are left as
    /// they are, as runc does. On failure every file already written is put back.
    func update(_ resources: Resources) throws(RuntimeError)
    /// Writes the limits through `w`; device rules only when `devices` (create).
    func apply(_ resources: Resources?, _ w: KnobWriter, devices: Bool) throws(RuntimeError)
    var log: RuntimeLog { get }
    /// Moves `pid` into every hierarchy that `placed` says is not done yet.
    func add(_ pid: pid_t, placed: CgroupPlacement) throws(RuntimeError)
    /// An O_PATH/O_DIRECTORY fd for CLONE_INTO_CGROUP, when the host allows it:
    /// v2's cgroup, or on a hybrid v1 host the unified (cgroup2) one.
    func cloneFD() -> Int32?
    /// Files through which a single-threaded new process joins by itself, writing
    /// "0": v1's `tasks`, one per hierarchy. Moving the calling thread alone lets
    /// the kernel skip the global threadgroup lock that every `cgroup.procs` write
    /// takes, whose write side waits for an RCU grace period (8–16 ms measured
    /// here, per create). Empty on v2, whose processes are cloned in (cloneFD).
    func threadJoinFiles() -> [String]
    func pids() -> [pid_t]
    func freeze(_ frozen: Bool) throws(RuntimeError)
    func isFrozen() -> Bool
    func destroy() throws(RuntimeError)
    /// What `events` reports, in runc's stats shape (files the host lacks read as zero).
    func stats() -> CgroupStats
    /// How many processes the kernel's OOM killer has killed in this cgroup
    /// (v1 memory.oom_control, v2 memory.events); 0 when the host does not say.
    func oomKillCount() -> UInt64
    /// A descriptor that turns readable when the cgroup runs out of memory, for `events`.
    func oomWatch() -> OOMWatch?
}

/// What placed a new process before `add`: CLONE_INTO_CGROUP (`cloned`), and
/// the process itself through `threadJoinFiles` (`threadJoined`).
struct CgroupPlacement {
    var cloned = false
    var threadJoined = false
}

extension Cgroup {
    /// Moves `pid` into every hierarchy of the cgroup.
    func add(_ pid: pid_t) throws(RuntimeError) { try add(pid, placed: CgroupPlacement()) }

    /// The same for both drivers: apply with a journal, undo it on failure.
    func update(_ resources: Resources) throws(RuntimeError) {
        let w = KnobWriter(journaling: true, log: log)
        do { try apply(resources, w, devices: false) } catch {
            w.rollback()
            throw error
        }
    }
}

enum Cgroups {
    /// The cgroup for a container. cgroupsPath may be absolute ("/a/b"), relative
    /// (taken from the root, as the spec allows) or, with --systemd-cgroup,
    /// "slice:prefix:name", which maps to the path systemd would use
    /// ("/system.slice/prefix-name.scope") since we drive cgroupfs directly.
    static func resolvePath(_ configured: String?, id: String, systemd: Bool) throws(RuntimeError) -> String {
        guard let configured, !configured.isEmpty else {
            return systemd ? "/system.slice/berth-\(id).scope" : "/\(id)"
        }
        if systemd || (configured.split(separator: ":", omittingEmptySubsequences: false).count == 3 && !configured.hasPrefix("/")) {
            let parts = configured.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else {
                throw RuntimeError("linux.cgroupsPath: expected \"slice:prefix:name\" with --systemd-cgroup, got \(configured.debugDescription)")
            }
            let slice = parts[0].isEmpty ? "system.slice" : parts[0]
            guard slice.hasSuffix(".slice"), !slice.includes("/") else {
                throw RuntimeError("linux.cgroupsPath: invalid slice name \(slice.debugDescription)")
            }
            // "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice.
            var path = ""
            if slice != "-.slice" {
                let stem = slice.dropLast(6).split(separator: "-")
                for k in 1...stem.count { path += "/" + stem[0..<k].joined(separator: "-") + ".slice" }
            }
            let unit = parts[2].hasSuffix(".slice") ? parts[2] : (parts[1].isEmpty ? parts[2] : "\(parts[1])-\(parts[2])") + ".scope"
            return path + "/" + unit
        }
        let clean = FS.cleanAbsolute(configured)
        guard clean != "/" else { throw RuntimeError("linux.cgroupsPath: the root cgroup cannot hold a container") }
        return clean
    }

    /// `devices` are config.json's linux.devices: the container may use what it
    /// was given, so they join the device allowlist (v1 rules, v2 eBPF filter).
    static func open(path: String, host: CgroupHost = .current, devices: [Device] = [], log: RuntimeLog = RuntimeLog()) -> any Cgroup {
        let extra = DeviceRules.configDevices(devices)
        switch host {
        case .v1(let controllers, let unified):
            return CgroupV1(path: path, controllers: controllers, unified: unified, extraAllowedDevices: extra, log: log)
        case .v2(let root):
            return CgroupV2(path: path, root: root, extraAllowedDevices: extra, log: log)
        }
    }
}
