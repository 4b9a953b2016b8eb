import CBerth
import Glibc
import OCI

/// A container's cgroup, on whichever hierarchy the host has.
///
/// Lifecycle: `create` makes the directories and applies the limits before the
/// container's init exists; the init is then born in it (`cloneFD`, cgroup v2
/// with clone3) or moved in (`add`); `destroy` removes the directories once the
/// processes are gone.
protocol Cgroup {
    /// The cgroupsPath, absolute from the hierarchy root ("/berth/abc").
    var path: String { get }
    func create(_ resources: Resources?) throws(RuntimeError)
    func add(_ pid: pid_t) throws(RuntimeError)
    /// An O_PATH/O_DIRECTORY fd for CLONE_INTO_CGROUP, when the host allows it.
    func cloneFD() -> Int32?
    func pids() -> [pid_t]
    func freeze(_ frozen: Bool) throws(RuntimeError)
    func isFrozen() -> Bool
    func destroy() throws(RuntimeError)
}

enum CgroupHost {
    case v1(controllers: [String: String], unified: String?)
    case v2(root: String)

    /// Reads the host's layout from the mount table: pure v2 when /sys/fs/cgroup is
    /// cgroup2, otherwise the v1 controllers with their mount points (and the hybrid
    /// unified mount, which holds no controllers but tracks membership).
    static func detect() -> CgroupHost {
        if cb_is_cgroup2("/sys/fs/cgroup") == 1 { return .v2(root: "/sys/fs/cgroup") }
        // The last mount on a mount point is the visible one: a tmpfs covering
        // /sys/fs/cgroup/unified (as benchmarks and some hosts do) hides the cgroup2
        // mount below it even though mountinfo still lists that mount.
        var visible: [String: (type: Substring, options: Substring)] = [:]
        var order: [String] = []
        let mounts = (try? FS.readString("/proc/self/mountinfo")) ?? ""
        for line in mounts.split(separator: "\n") {
            guard let sep = line.find(" - ") else { continue }
            let left = line[..<sep.lowerBound].split(separator: " ")
            let right = line[sep.upperBound...].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            if visible[mountPoint] == nil { order.append(mountPoint) }
            visible[mountPoint] = (right[0], right[2])
        }
        var controllers: [String: String] = [:]
        var unified: String?
        for mountPoint in order {
            guard let m = visible[mountPoint] else { continue }
            if m.type == "cgroup2" { unified = unified ?? mountPoint; continue }
            guard m.type == "cgroup" else { continue }
            for opt in m.options.split(separator: ",") {
                let o = String(opt)
                if ["rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children", "xattr"].contains(o) { continue }
                if o.hasPrefix("release_agent=") { continue }
                controllers[o] = mountPoint
            }
        }
        return .v1(controllers: controllers, unified: unified)
    }

    var isV2: Bool { if case .v2 = self { return true } else { return false } }
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

    static func open(path: String, host: CgroupHost = .detect(), devices: [Device] = [], log: RuntimeLog = RuntimeLog()) -> any Cgroup {
        switch host {
        case .v1(let controllers, let unified):
            var cg = CgroupV1(path: path, controllers: controllers, unified: unified)
            cg.log = log
            cg.extraAllowedDevices = devices.compactMap { d in
                guard d.type != "p", let major = d.major, let minor = d.minor else { return nil }
                return Resources.DeviceRule(allow: true, type: d.type == "b" ? "b" : "c", major: major, minor: minor, access: "rwm")
            }
            return cg
        case .v2(let root): return CgroupV2(path: path, root: root)
        }
    }

    static func parsePids(_ text: String) -> [pid_t] {
        text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// rmdir with retries: the kernel may still be releasing the last exiting task.
    static func removeDirectory(_ dir: String) throws(RuntimeError) {
        for attempt in 0..<50 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            if errno != EBUSY || attempt == 49 { throw RuntimeError.sys("remove cgroup \(dir)") }
            usleep(10_000)
        }
    }

    /// Removes `path` and its now-empty parents up to (not including) the hierarchy root,
    /// so that a derived path like /berth/abc leaves no empty /berth behind.
    static func removeTree(root: String, path: String) throws(RuntimeError) {
        let full = root + path
        // Children first (a container may have made sub-cgroups of its own).
        for name in FS.listDirectory(full) where FS.isDirectory(full + "/" + name) {
            try removeTree(root: root, path: path + "/" + name)
        }
        try removeDirectory(full)
    }

    static func writeKnob(_ dir: String, _ file: String, _ value: String) throws(RuntimeError) {
        let p = dir + "/" + file
        guard FS.exists(p) else { throw RuntimeError("cgroup file \(p) does not exist (is the controller enabled on this host?)") }
        try FS.writeExisting(p, value)
    }

    static func validatePageSize(_ s: String) throws(RuntimeError) {
        // runtime-spec schema: ^[1-9][0-9]*[KMG]B$
        guard s.count >= 3, s.hasSuffix("B"), let unit = s.dropLast().last, "KMG".contains(unit),
              let first = s.first, first != "0", UInt64(s.dropLast(2)) != nil
        else { throw RuntimeError("linux.resources.hugepageLimits: invalid pageSize \(s.debugDescription) (expected e.g. \"2MB\")") }
    }
}
