// A minimal receiver for `--console-socket`: a listening AF_UNIX stream socket that accepts
// one connection and receives the pty master the runtime passes with SCM_RIGHTS
// (what containerd-shim or `recvtty` do). Glibc only.

import Foundation
import Glibc

final class ConsoleSocketListener {
    let path: String
    private var fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket(AF_UNIX): errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw TestFailure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { Glibc.close(fd); throw TestFailure("bind(\(path)): errno \(errno)") }
        guard listen(fd, 1) == 0 else { Glibc.close(fd); throw TestFailure("listen: errno \(errno)") }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Accepts one connection and returns the file descriptor received with SCM_RIGHTS.
    func receiveFD(timeout: Double = 30) throws -> Int32 {
        try receiveFDAndPayload(timeout: timeout).fd
    }

    /// Accepts one connection; returns the message text and the fd it carried.
    func receiveFDAndPayload(timeout: Double = 30) throws -> (payload: String, fd: Int32) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeout * 1000))
        guard ready == 1 else { throw TestFailure("no connection on the console socket within \(timeout)s") }
        let conn = accept(fd, nil, nil)
        guard conn >= 0 else { throw TestFailure("accept: errno \(errno)") }
        _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
        defer { Glibc.close(conn) }

        var data = [UInt8](repeating: 0, count: 4096)
        // CMSG_SPACE(sizeof(int)): 16-byte cmsghdr + 4 bytes of data, padded to 8 -> 24. Use more.
        let controlSize = 64
        let control = UnsafeMutableRawPointer.allocate(byteCount: controlSize, alignment: 8)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: controlSize)

        let received: Int = data.withUnsafeMutableBytes { dataBuf in
            var iov = iovec(iov_base: dataBuf.baseAddress, iov_len: dataBuf.count)
            return withUnsafeMutablePointer(to: &iov) { iovPtr in
                var msg = msghdr()
                msg.msg_iov = iovPtr
                msg.msg_iovlen = 1
                msg.msg_control = control
                msg.msg_controllen = controlSize
                var pfd2 = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd2, 1, Int32(timeout * 1000)) == 1 else { return -2 }
                return recvmsg(conn, &msg, Int32(MSG_CMSG_CLOEXEC))
            }
        }
        guard received >= 0 else { throw TestFailure("recvmsg on the console socket failed (\(received), errno \(errno))") }

        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by data.
        let cmsgLen = control.load(as: Int.self)
        let level = control.load(fromByteOffset: 8, as: Int32.self)
        let type = control.load(fromByteOffset: 12, as: Int32.self)
        guard cmsgLen >= 16 + 4, level == SOL_SOCKET, type == Int32(SCM_RIGHTS) else {
            throw TestFailure("console socket message carried no SCM_RIGHTS file descriptor (len \(cmsgLen), level \(level), type \(type))")
        }
        return (String(decoding: data.prefix(received), as: UTF8.self), control.load(fromByteOffset: 16, as: Int32.self))
    }
}

/// Reads from a pty master until `done(output)` is true, the slave side is closed
/// (read fails with EIO), or the deadline passes.
func readPTY(_ fd: Int32, timeout: Double = 20, until done: (String) -> Bool) -> String {
    var output = [UInt8]()
    let deadline = Date().addingTimeInterval(timeout)
    var buf = [UInt8](repeating: 0, count: 4096)
    while Date() < deadline {
        if done(String(decoding: output, as: UTF8.self)) { break }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, 100)
        if ready <= 0 { continue }
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            output += buf[0..<n]
        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
            break
        }
    }
    return String(decoding: output, as: UTF8.self)
}
