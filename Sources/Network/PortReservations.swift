import Glibc
import Synchronization

/// berthd holds a bound socket for every published host port while its
/// container runs (Docker's port allocator plus its proxy's listener): a port
/// taken by a host process, or by a container of another berthd, fails the
/// bind before any rule is written; one taken by a container of this berthd
/// is found in the table.
public final class PortReservations: Sendable {
    /// A port as asked for: a host port range (0…0 = any free port).
    public struct Request: Sendable, Equatable {
        public var hostIP: String
        public var hostPortLow: Int
        public var hostPortHigh: Int
        public var containerPort: Int
        public var proto: String
        public init(hostIP: String, hostPortLow: Int, hostPortHigh: Int, containerPort: Int, proto: String) {
            self.hostIP = hostIP; self.hostPortLow = hostPortLow; self.hostPortHigh = hostPortHigh
            self.containerPort = containerPort; self.proto = proto
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private struct Held: Sendable { var port: PublishedPort; var fd: Int32 }
    private let held = Mutex<[String: [Held]]>([:])

    public init() {}

    /// Binds every request for `owner` (all or none).
    public func reserve(_ owner: String, _ requests: [Request]) throws(Failure) -> [PublishedPort] {
        var got: [Held] = []
        do throws(Failure) {
            for r in requests {
                let candidates = r.hostPortLow == 0 ? [0] : Array(r.hostPortLow...max(r.hostPortLow, r.hostPortHigh))
                var last: Failure?
                var bound: Held?
                for p in candidates {
                    let want = PublishedPort(hostIP: r.hostIP, hostPort: p, containerPort: r.containerPort, proto: r.proto)
                    if p != 0, let taken = allocated(want, extra: got) {
                        last = Failure(message: "Bind for \(taken) failed: port is already allocated")
                        continue
                    }
                    do { bound = try Self.bind(want) ; break } catch { last = error }
                }
                guard let b = bound else { throw last ?? Failure(message: "no free port for \(r.containerPort)/\(r.proto)") }
                got.append(b)
            }
        } catch {
            for h in got { close(h.fd) }
            throw error
        }
        held.withLock { $0[owner, default: []] += got }
        return got.map(\.port)
    }

    /// Closes every socket of `owner`.
    public func release(_ owner: String) {
        let gone = held.withLock { $0.removeValue(forKey: owner) } ?? []
        for h in gone { close(h.fd) }
    }

    /// The endpoint ("0.0.0.0:8080") of a port this berthd already holds that `p` collides with.
    private func allocated(_ p: PublishedPort, extra: [Held]) -> String? {
        let all = held.withLock { $0.values.flatMap { $0 } } + extra
        let any = ["", "0.0.0.0"]
        return all.first { h in
            h.port.proto == p.proto && h.port.hostPort == p.hostPort
                && (h.port.hostIP == p.hostIP || any.contains(h.port.hostIP) || any.contains(p.hostIP))
        }.map { _ in p.hostEndpoint }
    }

    /// A socket bound to the port (TCP: also listening, so that no other
    /// listener can take it, SO_REUSEADDR or not).
    private static func bind(_ p: PublishedPort) throws(Failure) -> Held {
        let udp = p.proto == "udp"
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(message: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        if !udp { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(p.hostPort).bigEndian)
        if !p.hostIP.isEmpty, inet_pton(AF_INET, p.hostIP, &addr.sin_addr) != 1 {
            close(fd)
            throw Failure(message: "invalid host IP \(p.hostIP) (IPv4 only)")
        }
        let proto = (udp ? "udp4 " : "tcp4 ")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 || (!udp && listen(fd, 1) != 0) {
            let e = errno
            close(fd)
            let reason = e == EADDRINUSE ? "address already in use" : String(cString: strerror(e)).lowercased()
            throw Failure(message: "Error starting userland proxy: listen \(proto)\(p.hostEndpoint): bind: \(reason)")
        }
        var out = p
        if p.hostPort == 0 {
            var got = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &got) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
            out.hostPort = Int(UInt16(bigEndian: got.sin_port))
        }
        return Held(port: out, fd: fd)
    }
}
