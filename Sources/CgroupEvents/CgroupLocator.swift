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

    public static func memoryDir(of pid: Int32) -> MemoryDir? {
        guard let cgroups = read("/proc/\(pid)/cgroup") else { return nil }
        var v1Path: String?, v2Path: String?
        for line in cgroups.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            if f[1].split(separator: ",").contains("memory") { v1Path = String(f[2]) }
            if f[0] == "0" && f[1].isEmpty { v2Path = String(f[2]) }
        }
        guard v1Path != nil || v2Path != nil else { return nil }
        // mountinfo: id parent major:minor root mountpoint opts ... - fstype source superopts.
        // Read line by line and left at the first match: the cgroup mounts are made
        // at boot and come first, and the host's table holds every container's
        // rootfs (two mounts each): reading and splitting all of it cost the shim
        // 2–6 ms on a host with 800 mounts, growing with each container.
        var found: MemoryDir?
        let marker = Array(" - cgroup".utf8)
        forEachLine("/proc/self/mountinfo") { bytes in
            guard contains(bytes, marker) else { return true }
            let fields = String(decoding: bytes, as: UTF8.self).split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { return true }
            let head = fields[..<dash], tail = Array(fields[(dash + 1)...])
            guard head.count >= 5, tail.count >= 3 else { return true }
            let root = String(head[head.startIndex + 3]), mountpoint = String(head[head.startIndex + 4])
            if tail[0] == "cgroup", let p = v1Path, tail[2].split(separator: ",").contains("memory") {
                found = .v1(mountpoint + relative(p, to: root))
                return false
            }
            if tail[0] == "cgroup2", v1Path == nil, let p = v2Path {
                let dir = mountpoint + relative(p, to: root)
                if access(dir + "/memory.events", F_OK) == 0 {
                    found = .v2(dir)
                    return false
                }
            }
            return true
        }
        return found
    }

    static func contains(_ bytes: ArraySlice<UInt8>, _ marker: [UInt8]) -> Bool {
        guard bytes.count >= marker.count else { return false }
        var i = bytes.startIndex
        while i + marker.count <= bytes.endIndex {
            if bytes[i] == marker[0] && bytes[i..<(i + marker.count)].elementsEqual(marker) { return true }
            i += 1
        }
        return false
    }

    /// Calls `body` with each line of the file (without its newline) until it returns false.
    static func forEachLine(_ path: String, _ body: (ArraySlice<UInt8>) -> Bool) {
        let fd = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { return }
        defer { close(fd) }
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return }
            if n == 0 { break }
            pending.append(contentsOf: buf[0..<n])
            var start = 0
            while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                if !body(pending[start..<nl]) { return }
                start = nl + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { _ = body(pending[...]) }
    }

    /// `path` below the mount's root (a mount of a sub-hierarchy shows its own root).
    private static func relative(_ path: String, to root: String) -> String {
        if root == "/" { return path == "/" ? "" : path }
        if path.hasPrefix(root) { return String(path.dropFirst(root.count)) }
        return path
    }

    static func read(_ path: String) -> String? {
        let fd = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
