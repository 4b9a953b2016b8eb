import CBerth
import Glibc
import OCI

/// The container's terminal. The pty is opened inside the container (its own
/// devpts instance), the master goes to whoever listens on --console-socket
/// (SCM_RIGHTS, as runc sends it), and the slave becomes stdio and the
/// controlling terminal of the container process.
enum Console {
    static func connect(_ path: String) throws(RuntimeError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw RuntimeError.sys("socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw RuntimeError("console socket path is too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 {
            let e = errno
            close(fd)
            throw RuntimeError.sys("connect to console socket \(path)", e)
        }
        return fd
    }

    /// Child side: make the pty, hand the master over, and take the slave as stdio.
    static func setUp(socket: Int32, size: ConsoleSize?, bindConsole: Bool) throws(RuntimeError) {
        var master: Int32 = -1
        var name = [CChar](repeating: 0, count: 128)
        try check("open pty (/dev/ptmx in the container)") { cb_open_pty(-1, &master, &name, name.count) }
        let slavePath = String(cString: name)
        let slave = cb_open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC, 0)
        if slave < 0 { throw RuntimeError.sys("open \(slavePath)") }
        if let size {
            _ = cb_ioctl_set_winsize(slave, UInt16(clamping: size.height), UInt16(clamping: size.width))
        }
        if bindConsole {
            // /dev/console names the container's terminal, as on a real system.
            let fd = cb_open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
            if Glibc.mount(slavePath, "/dev/console", "", MountOptions.MS_BIND, nil) != 0 {
                throw RuntimeError.sys("bind mount \(slavePath) on /dev/console")
            }
        }
        try check("send pty master over the console socket") { cb_send_fd(socket, master, slavePath, slavePath.utf8.count) }
        close(master)
        close(socket)
        try check("set controlling terminal") { cb_ioctl_set_ctty(slave) }
        for target in Int32(0)...2 { try check("dup2 pty to fd \(target)") { dup2(slave, target) } }
        if slave > 2 { close(slave) }
    }

    /// Parent side of `run`/`exec` in the foreground with a terminal and no
    /// --console-socket: a private socketpair stands in for the socket.
    static func socketPair() throws(RuntimeError) -> (ours: Int32, theirs: Int32) {
        var fds: [Int32] = [0, 0]
        try check("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (fds[0], fds[1])
    }

    static func receiveMaster(_ sock: Int32) throws(RuntimeError) -> Int32 {
        let fd = cb_recv_fd(sock, nil, 0)
        if fd < 0 { throw RuntimeError.sys("receive pty master") }
        return fd
    }
}

/// Relays between our stdio and a pty master for a foreground container with a
/// terminal; our terminal goes raw and is restored afterwards.
struct TerminalRelay {
    let master: Int32
    var saved = termios()
    var isRaw = false

    init(master: Int32) {
        self.master = master
        if isatty(0) != 0, tcgetattr(0, &saved) == 0 {
            var raw = saved
            cfmakeraw(&raw)
            isRaw = tcsetattr(0, TCSANOW, &raw) == 0
            var rows: UInt16 = 0, cols: UInt16 = 0
            if cb_ioctl_get_winsize(0, &rows, &cols) == 0 { _ = cb_ioctl_set_winsize(master, rows, cols) }
        }
    }

    func restore() {
        var t = saved
        if isRaw { tcsetattr(0, TCSANOW, &t) }
    }

    /// Copies one chunk in whichever direction is ready. Returns false once the
    /// container side is closed.
    func pump(stdinOpen: inout Bool, signalFD: Int32) -> Bool {
        var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        let n = poll(&fds, 3, -1)
        if n < 0 { return errno == EINTR }
        var buf = [UInt8](repeating: 0, count: 32768)
        if fds[0].revents != 0 {
            let r = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if r <= 0 { return false }
            try? FS.writeAll(1, Array(buf[0..<r]), what: "stdout")
        }
        if fds[1].revents != 0 {
            let r = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if r <= 0 { stdinOpen = false } else { try? FS.writeAll(master, Array(buf[0..<r]), what: "pty") }
        }
        return true
    }
}
