import Glibc

/// Whether a path is a mount point, asked of the kernel for that one path: its
/// mount id (from /proc/self/fdinfo of an O_PATH fd) differs from its parent's.
/// A scan of /proc/self/mountinfo can miss an entry while other mounts change,
/// and st_dev cannot tell a bind mount from its own filesystem.
enum MountTable {
    static func isMountPoint(_ path: String) -> Bool {
        guard let own = mountID(path, flags: O_NOFOLLOW), let parent = mountID(path + "/..", flags: 0) else { return false }
        return own != parent
    }

    /// O_PATH (Glibc does not export it to Swift without _GNU_SOURCE).
    static let oPath: Int32 = 0o10000000

    static func mountID(_ path: String, flags: Int32) -> Int? {
        let fd = open(path, oPath | O_CLOEXEC | flags)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let info = open("/proc/self/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
        guard info >= 0 else { return nil }
        defer { close(info) }
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = buf.withUnsafeMutableBytes { read(info, $0.baseAddress, 1024) }
        guard n > 0 else { return nil }
        for line in String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n") where line.hasPrefix("mnt_id:") {
            return Int(String(line.dropFirst(7).filter { $0 != " " && $0 != "\t" }))
        }
        return nil
    }
}
