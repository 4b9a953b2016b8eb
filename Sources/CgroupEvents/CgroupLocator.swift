import CBerth
import Glibc

/// Where a process's memory cgroup is, seen from this process's mount table.
/// The shim runs in the host's cgroup namespace, so /proc/PID/cgroup names
/// host paths.
public enum CgroupLocator {
    public enum MemoryDir: Equatable {
        case v1(String)
        case v2(String)
    }

    /// The hierarchies come from CgroupMounts, which does not read the whole
    /// mount table where the kernel can say what is mounted on
    /// /sys/fs/cgroup: the shim asks this at every create, and the table has
    /// two lines per running container.
    public static func memoryDir(of pid: Int32) -> MemoryDir? {
        guard let cgroups = read("/proc/\(pid)/cgroup") else { return nil }
        var v1Path: String?, v2Path: String?
        for line in cgroups.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            if f[1].split(separator: ",").contains("memory") { v1Path = String(f[2]) }
            if f[0] == "0" && f[1].isEmpty { v2Path = String(f[2]) }
        }
        let mounts = CgroupMounts.find()
        if let p = v1Path {
            guard let m = mounts.controllers["memory"] else { return nil }
            return .v1(m.point + relative(p, to: m.root))
        }
        if let p = v2Path, let m = mounts.unified {
            let dir = m.point + relative(p, to: m.root)
            if access(dir + "/memory.events", F_OK) == 0 { return .v2(dir) }
        }
        return nil
    }

    /// `path` below the mount's root (a mount of a sub-hierarchy shows its own root).
    private static func relative(_ path: String, to root: String) -> String {
        if root == "/" { return path == "/" ? "" : path }
        if path.hasPrefix(root) { return String(path.dropFirst(root.count)) }
        return path
    }

    static func read(_ path: String) -> String? {
        CgroupMounts.readAll(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
