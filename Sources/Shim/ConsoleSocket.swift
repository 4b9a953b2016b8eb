import CBerth
import Glibc
import RPC

/// The --console-socket of `runtime create` for a container with a terminal:
/// the runtime connects and sends the pty master with SCM_RIGHTS before it exits.
struct ConsoleSocket {
    let path: String
    let fd: Int32

    init(path: String) throws(RPCError) {
        self.path = path
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if s < 0 { throw Sys.fail("socket") }
        guard case (var addr, let len)? = Sys.unixAddress(path) else {
            Glibc.close(s); throw RPCError(RPCError.shimFailed, "console socket path too long: \(path)")
        }
        unlink(path)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        if rc != 0 || listen(s, 1) != 0 { let e = errno; Glibc.close(s); throw Sys.fail("bind/listen \(path)", e) }
        chmod(path, 0o600)
        fd = s
    }

    /// The master, once the runtime has exited successfully (its connection is already queued).
    func receive() throws(RPCError) -> Int32 {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 5000) == 1 else { throw RPCError(RPCError.shimFailed, "the runtime sent no terminal over \(path)") }
        let conn = Glibc.accept(fd, nil, nil)
        if conn < 0 { throw Sys.fail("accept \(path)") }
        defer { Glibc.close(conn) }
        var buf = [CChar](repeating: 0, count: 4096)
        let master = cb_recv_fd(conn, &buf, buf.count)
        if master < 0 { throw Sys.fail("receive the terminal from \(path)") }
        _ = cb_fcntl_setfd(master, FD_CLOEXEC)
        return master
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
