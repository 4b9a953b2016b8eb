import CBerth
import Glibc

/// The host's cgroup layout, read from the mount table at each command.
enum CgroupHost {
    case v1(controllers: [String: String], unified: String?)
    case v2(root: String)

    /// Read once per command: a command looks at its container's cgroup several times.
    static let current = detect()

    /// Pure v2 when /sys/fs/cgroup is cgroup2, otherwise the v1 controllers with
    /// their mount points (and the hybrid unified mount, which holds no
    /// controllers but tracks membership).
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
