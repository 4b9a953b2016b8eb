import Glibc

/// A failure of the DNS server's sockets, worded like Go's net errors
/// ("listen udp 172.18.0.1:53: bind: Address already in use") so a user sees
/// what Docker would show.
public struct DNSServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
    static func errno(_ what: String, _ call: String, _ code: Int32 = Glibc.errno) -> DNSServerError {
        DNSServerError("\(what): \(call): \(String(cString: strerror(code)))")
    }
}

/// Thin, non-blocking IPv4 socket calls for the server's poll loop. Every
/// descriptor is close-on-exec: berthd forks CNI plugins and shims, and a
/// listening socket leaked into them would keep the port bound after stop.
enum DNSSocket {
    static func address(_ ip: IPv4Address, _ port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = ip.value.bigEndian
        return sa
    }

    static func port(of fd: Int32) -> UInt16 {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: sa.sin_port)
    }

    static func open(_ type: Int32) -> Int32 {
        socket(AF_INET, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// A bound UDP socket, or a listening TCP one, at ip:port.
    static func listen(udp: Bool, _ ip: IPv4Address, _ port: UInt16) throws -> Int32 {
        let proto = udp ? "udp" : "tcp"
        let what = "listen \(proto) \(ip):\(port)"
        let fd = open(udp ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue))
        guard fd >= 0 else { throw DNSServerError.errno(what, "socket") }
        if !udp {
            // A TCP port in TIME_WAIT after a stop must not block the next listen.
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var sa = address(ip, port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let code = errno
            close(fd)
            throw DNSServerError.errno(what, "bind", code)
        }
        if !udp && Glibc.listen(fd, 128) != 0 {
            let code = errno
            close(fd)
            throw DNSServerError.errno(what, "listen", code)
        }
        return fd
    }

    /// Starts a connection to an upstream; true when it is made or under way.
    static func connect(_ fd: Int32, _ ip: IPv4Address, _ port: UInt16) -> Bool {
        var sa = address(ip, port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 || errno == EINPROGRESS
    }

    /// Accepts one connection, made non-blocking and close-on-exec (Swift
    /// cannot call accept4, so the flags are set right after).
    static func accept(_ listener: Int32) -> Int32? {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    /// One datagram and its sender; nil when none is waiting.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> (Int, sockaddr_in)? {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &len) }
            }
        }
        return n >= 0 ? (n, sa) : nil
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to sa: sockaddr_in) {
        var sa = sa
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Writes what the socket takes now; returns the bytes written, or nil on error.
    static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int? {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return n }
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : nil
    }

    /// The pending error of a socket (a refused or failed connect).
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &len)
        return code
    }
}

/// Two-byte length prefix of DNS over TCP (RFC 1035 §4.2.2).
func tcpFrame(_ message: [UInt8]) -> [UInt8] {
    [UInt8(message.count >> 8 & 0xff), UInt8(message.count & 0xff)] + message
}

/// Milliseconds on the monotonic clock, for deadlines.
func monotonicMilliseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}
