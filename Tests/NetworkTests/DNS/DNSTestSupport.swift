import Glibc
@testable import Network

// A DNS client and a fake upstream written for the tests alone, from
// RFC 1035, so that the server is checked against an encoding it did not make.

enum Wire {
    static let a: UInt16 = 1, cname: UInt16 = 5, ptr: UInt16 = 12, mx: UInt16 = 15, aaaa: UInt16 = 28

    /// A standard query with RD set.
    static func query(id: UInt16, _ name: String, type: UInt16) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        out += labels(name)
        out += [UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
        return out
    }

    static func labels(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        return out + [0]
    }

    struct Record { var type: UInt16; var ttl: UInt32; var data: [UInt8]; var text: String }
    struct Message {
        var id: UInt16
        var flags: UInt16
        var rcode: UInt8 { UInt8(flags & 0xF) }
        var truncated: Bool { flags & 0x0200 != 0 }
        var questions: Int
        var answers: [Record]
        var addresses: [String] { answers.filter { $0.type == a }.map(\.text) }
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }

    /// Reads a (possibly compressed) name; test data is trusted, but bounded anyway.
    static func name(_ b: [UInt8], _ start: Int) -> (String, Int) {
        var i = start, parts: [String] = [], end: Int? = nil, hops = 0
        while hops < 50 {
            let len = Int(b[i])
            if len == 0 { return (parts.joined(separator: ".") + ".", end ?? i + 1) }
            if len & 0xC0 == 0xC0 {
                if end == nil { end = i + 2 }
                i = (len & 0x3F) << 8 | Int(b[i + 1]); hops += 1; continue
            }
            parts.append(String(decoding: b[(i + 1)...(i + len)], as: UTF8.self))
            i += len + 1
        }
        return ("<loop>", i)
    }

    static func parse(_ b: [UInt8]) -> Message? {
        guard b.count >= 12 else { return nil }
        var i = 12
        let qd = Int(u16(b, 4)), an = Int(u16(b, 6))
        for _ in 0..<qd { i = name(b, i).1 + 4 }
        var records: [Record] = []
        for _ in 0..<an {
            i = name(b, i).1
            let type = u16(b, i), ttl = UInt32(u16(b, i + 4)) << 16 | UInt32(u16(b, i + 6))
            let len = Int(u16(b, i + 8))
            let data = Array(b[(i + 10)..<(i + 10 + len)])
            var text = ""
            if type == a { text = data.map { String($0) }.joined(separator: ".") }
            if type == ptr || type == cname { text = name(b, i + 10).0 }
            records.append(Record(type: type, ttl: ttl, data: data, text: text))
            i += 10 + len
        }
        return Message(id: u16(b, 0), flags: u16(b, 2), questions: qd, answers: records)
    }
}

/// A UDP socket with a receive timeout, for one exchange at a time.
struct UDPClient {
    let fd: Int32

    init(timeoutMilliseconds: Int = 2000) {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var tv = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() { Glibc.close(fd) }

    func send(_ packet: [UInt8], to ip: String, _ port: UInt16) {
        var sa = DNSSocket.address(IPv4Address(ip)!, port)
        _ = packet.withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram, or nil after the timeout.
    func receive() -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 65535)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n >= 0 ? Array(buf[0..<n]) : nil
    }

    func exchange(_ packet: [UInt8], _ ip: String, _ port: UInt16) -> [UInt8]? {
        send(packet, to: ip, port)
        return receive()
    }
}

/// One query over a fresh TCP connection (length-prefixed, RFC 1035 §4.2.2).
func tcpExchange(_ packets: [[UInt8]], _ ip: String, _ port: UInt16) -> [[UInt8]] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var tv = timeval(tv_sec: 3, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sa = DNSSocket.address(IPv4Address(ip)!, port)
    let rc = withUnsafePointer(to: &sa) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { return [] }
    var out: [UInt8] = []
    for p in packets { out += [UInt8(p.count >> 8), UInt8(p.count & 0xff)] + p }
    _ = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var answers: [[UInt8]] = [], input: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while answers.count < packets.count {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { break }
        input += buf[0..<n]
        while input.count >= 2, input.count >= 2 + Int(Wire.u16(input, 0)) {
            let len = Int(Wire.u16(input, 0))
            answers.append(Array(input[2..<(2 + len)]))
            input.removeFirst(2 + len)
        }
    }
    return answers
}

/// A stand-in for the host's resolver on 127.0.0.1: answers every A query
/// with 198.51.100.7 behind a CNAME (so that relaying is checked byte for
/// byte), or with NXDOMAIN, over UDP and TCP, and counts what it was asked.
final class FakeUpstream: @unchecked Sendable {
    enum Mode { case answer, nxdomain, silent, servfail }
    let udp: Int32, tcp: Int32
    let port: UInt16
    let mode: Mode
    private let lock = DNSLock()
    private var _names: [String] = []
    private var _ids: [UInt16] = []
    private var running = true
    private var thread: pthread_t?

    var names: [String] { lock.locked { _names } }
    var ids: [UInt16] { lock.locked { _ids } }

    init(_ mode: Mode = .answer) throws {
        self.mode = mode
        udp = try DNSSocket.listen(udp: true, IPv4Address("127.0.0.1")!, 0)
        port = DNSSocket.port(of: udp)
        tcp = try DNSSocket.listen(udp: false, IPv4Address("127.0.0.1")!, port)
        thread = DNSThread.start { [self] in loop() }
    }

    func stop() {
        lock.locked { running = false }
        if let thread { pthread_join(thread, nil) }
        close(udp); close(tcp)
    }

    /// The upstream's answer to `query`.
    func answer(_ query: [UInt8]) -> [UInt8]? {
        guard query.count >= 12 else { return nil }
        let (qname, qend) = Wire.name(query, 12)
        lock.locked { _names.append(qname); _ids.append(Wire.u16(query, 0)) }
        switch mode {
        case .silent: return nil
        case .nxdomain, .servfail:
            var out = Array(query[0..<(qend + 4)])
            out[2] = 0x81; out[3] = mode == .nxdomain ? 0x83 : 0x82
            return out
        case .answer:
            var out = Array(query[0..<(qend + 4)])
            out[2] = 0x81; out[3] = 0x80
            out[6] = 0; out[7] = 2
            out[10] = 0; out[11] = 0
            let target = Wire.labels("edge.example.net")
            // CNAME owner = question name (pointer to 12), then the A record of the target.
            out += [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, UInt8(target.count)] + target
            let targetOffset = out.count - target.count
            out += [0xC0 | UInt8(targetOffset >> 8), UInt8(targetOffset & 0xff), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7]
            return out
        }
    }

    private func loop() {
        var buf = [UInt8](repeating: 0, count: 65535)
        while lock.locked({ running }) {
            var fds = [pollfd(fd: udp, events: Int16(POLLIN), revents: 0), pollfd(fd: tcp, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 50) > 0 else { continue }
            if fds[0].revents != 0, let (n, peer) = DNSSocket.receive(udp, into: &buf), let reply = answer(Array(buf[0..<n])) {
                DNSSocket.send(udp, reply, to: peer)
            }
            if fds[1].revents != 0, let c = DNSSocket.accept(tcp) {
                // One query per connection is all the tests send; blocking is fine here.
                _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK)
                var input: [UInt8] = []
                while input.count < 2 || input.count < 2 + Int(Wire.u16(input, 0)) {
                    let n = buf.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    input += buf[0..<n]
                }
                if input.count >= 2, let reply = answer(Array(input[2...])) {
                    let framed = tcpFrame(reply)
                    _ = framed.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
                }
                close(c)
            }
        }
    }
}

/// A UDP port on 127.0.0.1 where nothing listens (bound, then closed), so a
/// query there is refused at once.
func deadPort() throws -> UInt16 {
    let fd = try DNSSocket.listen(udp: true, IPv4Address("127.0.0.1")!, 0)
    let port = DNSSocket.port(of: fd)
    close(fd)
    return port
}
