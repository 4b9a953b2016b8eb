import Glibc

/// Forwarding to the upstream resolvers, as Docker's embedded resolver does:
/// each upstream in turn, over the client's transport, with a deadline; the
/// first usable answer goes back to the client under the client's id.
extension DNSEngine {
    /// One query out to an upstream; keyed by the upstream socket in `forwards`.
    struct Forward {
        var query: DNSQuery
        /// The client's packet as received (for SERVFAIL, and to re-send).
        var original: [UInt8]
        var transport: Transport
        var upstreams: [DNSUpstream]
        var index: Int
        var deadline: Int
        /// A fresh random id per upstream attempt: an answer is accepted only
        /// when it carries it, so a stray or spoofed datagram cannot answer a
        /// container's query (the client's own id may be predictable).
        var upstreamID: UInt16
        /// Tells this attempt from a later socket that reuses its number.
        var serial = 0
        // TCP only: the framed query, how much is sent, the answer so far.
        var output: [UInt8] = []
        var sent = 0
        var input: [UInt8] = []
        var connected = false

        var isTCP: Bool { !transport.isUDP }
        var pollEvents: Int32 {
            if isTCP && (!connected || sent < output.count) { return POLLOUT }
            return POLLIN
        }
    }

    func forward(_ query: DNSQuery, packet: [UInt8], from transport: Transport, upstreams: [DNSUpstream]) {
        let f = Forward(query: query, original: packet, transport: transport, upstreams: upstreams,
                        index: 0, deadline: 0, upstreamID: 0)
        attempt(f)
    }

    /// Sends `f` to its upstream at `f.index`, or the next one that takes it;
    /// SERVFAIL to the client when none is left.
    private func attempt(_ f: Forward) {
        var f = f
        while f.index < f.upstreams.count {
            let upstream = f.upstreams[f.index]
            let fd = DNSSocket.open(f.isTCP ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
            if fd >= 0 && DNSSocket.connect(fd, upstream.address, upstream.port) {
                f.upstreamID = UInt16.random(in: 0...UInt16.max)
                var message = f.original
                DNSAnswer.put16(&message, 0, f.upstreamID)
                f.deadline = monotonicMilliseconds() + timeout
                f.input = []; f.sent = 0; f.connected = false
                nextToken += 1
                f.serial = nextToken
                if f.isTCP {
                    f.output = tcpFrame(message)
                    forwards[fd] = f
                    return
                }
                if DNSSocket.write(fd, message[...]) == message.count {
                    forwards[fd] = f
                    return
                }
            }
            if fd >= 0 { close(fd) }
            f.index += 1
        }
        let limit = f.transport.isUDP ? 512 : 65535
        deliver(DNSAnswer.reply(to: f.query, packet: f.original, rcode: DNSRcode.serverFailure, records: [], limit: limit), to: f.transport)
    }

    /// The upstream at `fd` failed, timed out or refused: the next one.
    func failOver(_ fd: Int32) {
        guard var f = forwards.removeValue(forKey: fd) else { return }
        close(fd)
        f.index += 1
        attempt(f)
    }

    func serviceForward(_ fd: Int32, revents: Int16) {
        guard let f = forwards[fd] else { return }
        if f.isTCP { serviceTCPForward(fd, f, revents: revents) } else { serviceUDPForward(fd, f) }
    }

    private func serviceUDPForward(_ fd: Int32, _ f: Forward) {
        var answer = [UInt8](repeating: 0, count: 65535)
        let n = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            // ECONNREFUSED: nothing listens on that upstream (the ICMP error
            // comes back on the connected socket); no need to wait it out.
            if errno != EAGAIN && errno != EINTR { failOver(fd) }
            return
        }
        relay(fd, f, Array(answer[0..<n]))
    }

    private func serviceTCPForward(_ fd: Int32, _ f: Forward, revents: Int16) {
        var f = f
        if !f.connected {
            guard revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 else { return }
            if DNSSocket.pendingError(fd) != 0 { return failOver(fd) }
            f.connected = true
        }
        if f.sent < f.output.count {
            guard let n = DNSSocket.write(fd, f.output[f.sent...]) else { return failOver(fd) }
            f.sent += n
            forwards[fd] = f
            return
        }
        var chunk = [UInt8](repeating: 0, count: 65537)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return failOver(fd) }
        guard n > 0 else { return }
        f.input += chunk[0..<n]
        forwards[fd] = f
        guard f.input.count >= 2 else { return }
        let length = Int(readU16(f.input, 0))
        guard f.input.count >= 2 + length else { return }
        relay(fd, f, Array(f.input[2..<(2 + length)]))
    }

    /// An answer arrived: checked, given back the client's id, delivered.
    private func relay(_ fd: Int32, _ f: Forward, _ answer: [UInt8]) {
        // Not an answer to our query (wrong id, or not a response): keep waiting
        // for the right one until the deadline.
        guard answer.count >= 12, readU16(answer, 0) == f.upstreamID, answer[2] & 0x80 != 0 else {
            if f.isTCP { failOver(fd) }
            return
        }
        let rcode = answer[3] & 0x0F
        if (rcode == DNSRcode.serverFailure || rcode == DNSRcode.refused) && f.index + 1 < f.upstreams.count {
            return failOver(fd)
        }
        forwards.removeValue(forKey: fd)
        close(fd)
        var reply = answer
        DNSAnswer.put16(&reply, 0, f.query.id)
        deliver(reply, to: f.transport)
    }
}
