import CBerth
import CgroupEvents
import Glibc

/// The host's cgroup layout, found once per command (CgroupMounts).
enum CgroupHost {
    case v1(controllers: [String: String], unified: String?)
    case v2(root: String)

    /// Read once per command: a command looks at its container's cgroup several times.
    static let current = detect()

    /// Pure v2 when /sys/fs/cgroup is cgroup2, otherwise the v1 controllers with
    /// their mount points (and the hybrid unified mount, which holds no
    /// controllers but tracks membership). CgroupMounts finds them without
    /// reading the mount table where it can: that table grows with every
    /// running container, and reading it made every command slower.
    static func detect() -> CgroupHost {
        if cb_is_cgroup2("/sys/fs/cgroup") == 1 { return .v2(root: "/sys/fs/cgroup") }
        let found = CgroupMounts.find()
        return .v1(controllers: found.controllers.mapValues(\.point), unified: found.unified?.point)
    }

    var isV2: Bool { if case .v2 = self { return true } else { return false } }
}
