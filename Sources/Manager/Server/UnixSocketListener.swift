import Glibc

/// The listening socket: what is at the path before berthd binds it, and the
/// bind itself with the mode and group the socket must have from its first moment.
enum UnixSocketListener {
    enum Existing: Equatable {
        /// Nothing at the path.
        case none
        /// A socket that accepts connections: another process serves it.
        case live
        /// A socket nobody listens on (left by a berthd that died): safe to remove.
        case stale
        /// Something that is not a socket.
        case notSocket
    }

    static func probe(_ path: String) -> Existing {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .none }
        guard st.st_mode & S_IFMT == S_IFSOCK else { return .notSocket }
        guard let s = try? socketFD(), let addr = try? address(path) else { return .stale }
        defer { close(s) }
        var a = addr
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0 ? .live : .stale
    }

    static func socketFD() throws(DaemonError) -> Int32 {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if s < 0 { throw DaemonError.errno("socket") }
        return s
    }

    static func address(_ path: String) throws(DaemonError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw DaemonError("socket path too long (at most \(MemoryLayout.size(ofValue: addr.sun_path) - 1) bytes): \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        return addr
    }

    /// Binds and listens. The umask keeps the socket at `mode` from the
    /// moment it exists (no window in which others could connect); `group`
    /// is applied before listen(2).
    static func listen(_ path: String, mode: mode_t, group: gid_t?) throws(DaemonError) -> Int32 {
        let s = try socketFD()
        var addr = try address(path)
        let old = umask(~mode & 0o777)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let e = errno
        umask(old)
        if rc != 0 { close(s); throw DaemonError.errno("bind \(path)", e) }
        if let group, chown(path, uid_t.max, group) != 0 {
            let e = errno
            close(s); unlink(path)
            throw DaemonError.errno("chown \(path) to group \(group)", e)
        }
        if chmod(path, mode) != 0 {
            let e = errno
            close(s); unlink(path)
            throw DaemonError.errno("chmod \(path)", e)
        }
        if Glibc.listen(s, 128) != 0 {
            let e = errno
            close(s); unlink(path)
            throw DaemonError.errno("listen \(path)", e)
        }
        return s
    }
}
