#if canImport(Glibc)
import Glibc
#endif

/// The host's processes as /proc lists them, for tests that check what they
/// leave running (shared by the suites through symlinks: Glibc only).
enum ProcessTable {
    /// Processes whose command line contains `needle` (a path unique to one
    /// test run: only processes that test started can match), never the caller.
    static func withCommandLine(containing needle: String) -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var found: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let pid = pid_t(name), pid != getpid() else { continue }
            if commandLine(pid).contains(needle) { found.append(pid) }
        }
        return found
    }

    /// The arguments of `pid` joined by spaces ("" when it is gone).
    static func commandLine(_ pid: pid_t) -> String {
        let fd = open("/proc/\(pid)/cmdline", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        return String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
}
