import CBerth
import Glibc
import OCI
import RPC

/// Small system helpers for the shim (no Foundation).
enum Sys {
    static func errorText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    static func fail(_ what: String, _ e: Int32 = errno) -> RPCError {
        RPCError(RPCError.shimFailed, "\(what): \(errorText(e))")
    }

    static func readFile(_ path: String, limit: Int = 16 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count <= limit {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    static func readText(_ path: String) -> String? {
        readFile(path).map { String(decoding: $0, as: UTF8.self) }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }

    /// A temp file beside `path`, then rename: readers never see half a file,
    /// and a shim or manager that crashes reads the old file or the new one.
    /// No fsync: what the shim writes (shim.json, files for the runtime) lives
    /// in the bundle, under the manager's volatile state directory (a tmpfs,
    /// /run/berth), and describes processes that a machine crash ends anyway;
    /// after a reboot the manager finds no bundle and records the exit itself.
    /// An fsync here cost 0.3–7 ms on every create, start, exit and delete
    /// when that directory was on a disk under load.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(RPCError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw fail("open \(tmp)") }
        let ok = writeAll(fd, bytes)
        close(fd)
        if !ok { unlink(tmp); throw fail("write \(tmp)") }
        if rename(tmp, path) != 0 { let e = errno; unlink(tmp); throw fail("rename \(tmp)", e) }
    }

    static func setNonblocking(_ fd: Int32) { _ = cb_fcntl_setfl(fd, cb_fcntl_getfl(fd) | O_NONBLOCK) }

    static func pipe() throws(RPCError) -> (r: Int32, w: Int32) {
        var fds: [Int32] = [0, 0]
        if cb_pipe2(&fds, O_CLOEXEC) != 0 { throw fail("pipe2") }
        return (fds[0], fds[1])
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (cwd == "/" ? "" : cwd) + "/" + path
    }

    static func contains(_ hay: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, hay.count >= n.count else { return n.isEmpty }
        for i in 0...(hay.count - n.count) where hay[i] == n[0] && Array(hay[i..<(i + n.count)]) == n { return true }
        return false
    }

    /// Closes every fd >= 3 except `keep` (a daemon must not hold its caller's pipes open).
    static func closeFDs(except keep: [Int32]) {
        guard let dir = opendir("/proc/self/fd") else { return }
        var fds: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd > 2 { fds.append(fd) }
        }
        let own = dirfd(dir)
        closedir(dir)
        for fd in fds where fd != own && !keep.contains(fd) { close(fd) }
    }

    /// poll(2) after dropping the pages of berth-shim mapped by the work before
    /// (cb_poll_trimmed): the long-lived shim needs few of them while it waits.
    static func pollTrimmed(_ fds: inout [pollfd], timeout: Int32) -> Int32 {
        cb_poll_trimmed(&fds, UInt(fds.count), timeout)
    }

    /// A zombie counts as dead: a killed shim stays one until init reaps it,
    /// and a manager that saw it die (its pidfd) must be able to collect it.
    static func processAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        let rest = stat[stat.index(after: close)...].drop(while: { $0 == " " })
        return rest.first != "Z" && rest.first != "X"
    }

    /// A unix-socket address for `path`.
    static func unixAddress(_ path: String) -> (sockaddr_un, socklen_t)? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        return (addr, socklen_t(MemoryLayout<sockaddr_un>.size))
    }

    /// Runs `argv` (argv[0] an absolute path) with stdio fd0/fd1/fd2 (-1 = /dev/null).
    static func spawn(_ argv: [String], fd0: Int32 = -1, fd1: Int32 = -1, fd2: Int32 = -1) throws(RPCError) -> pid_t {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let pid = cb_spawn(argv[0], &cArgs, environ, fd0, fd1, fd2)
        if pid < 0 { throw fail("fork for \(argv[0])") }
        return pid
    }
}

extension Sys {
    /// Unmounts everything mounted at or below `dir`'s children (a bundle's
    /// rootfs, mounted there by the manager from a snapshot), deepest first,
    /// lazily (MNT_DETACH) so a busy mount still leaves the namespace.
    /// Returns the mount points it could not unmount.
    @discardableResult
    static func unmountAll(under dir: String) -> [String] {
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        var points: [String] = []
        for line in (readText("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 4 else { continue }
            let point = unescapeMountField(String(f[4]))
            if point.hasPrefix(prefix) { points.append(point) }
        }
        var failed: [String] = []
        // Deepest first; a path mounted twice is unmounted as often.
        for p in points.sorted(by: { $0.utf8.count > $1.utf8.count }) where umount2(p, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            failed.append(p)
        }
        return failed
    }

    /// mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134.
    static func unescapeMountField(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else { out.append(b[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
