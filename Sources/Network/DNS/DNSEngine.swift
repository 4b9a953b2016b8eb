import Glibc
import CBerth

/// The machinery behind `DNSServer`: state shared with the API under a lock,
/// and a poll loop on one thread that owns every socket. API calls never
/// close a socket themselves: they hand it to the loop and wait, so the loop
/// can never poll or write a descriptor number that has been reused.
final class DNSEngine: @unchecked Sendable {
    struct Listener {
        var id: Int
        var network: String
        var udp: Int32
        var tcp: Int32
    }

    /// Where a query came from, so that its answer goes back there.
    enum Transport {
        case udp(listener: Int, fd: Int32, peer: sockaddr_in)
        case tcp(client: Int32, token: Int)

        var isUDP: Bool { if case .udp = self { return true } else { return false } }
    }

    /// Shared with the API threads; only under `lock`.
    private struct Shared {
        var zones: [String: DNSZone] = [:]
        var listeners: [String: Listener] = [:]
        var upstreams: [DNSUpstream]
        var closing: [Int32] = []
        var nextListener = 0
        var requested = 0, completed = 0
        var stopping = false, stopped = false
    }

    private let lock = DNSLock()
    private var shared: Shared
    private let wakeFD: Int32
    private var thread: pthread_t?
    let timeout: Int

    // Owned by the loop thread alone.
    struct TCPClient {
        var token: Int
        var network: String
        var listener: Int
        var input: [UInt8] = []
        var output: [UInt8] = []
        var lastActive: Int
    }
    var clients: [Int32: TCPClient] = [:]
    var forwards: [Int32: Forward] = [:]
    var liveListeners: Set<Int> = []
    var nextToken = 0
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// Connections a TCP client may hold open while idle, and how many at once:
    /// enough for resolvers that keep a connection, few enough that a flood of
    /// connections cannot take all of berthd's descriptors.
    static let idleMilliseconds = 10_000
    static let maxClients = 256

    init(upstreams: [DNSUpstream], timeout: Int) throws {
        shared = Shared(upstreams: upstreams)
        self.timeout = timeout
        wakeFD = cb_eventfd_cloexec()
        guard wakeFD >= 0 else { throw DNSServerError.errno("dns server", "eventfd") }
        _ = fcntl(wakeFD, F_SETFL, fcntl(wakeFD, F_GETFL) | O_NONBLOCK)
        guard let tid = DNSThread.start({ [self] in run() }) else {
            close(wakeFD)
            throw DNSServerError("dns server: cannot start its thread")
        }
        thread = tid
    }

    // MARK: API side

    func listen(network: String, address: IPv4Address, port: UInt16) throws -> UInt16 {
        stopListening(network: network)
        let (udp, tcp, bound) = try bindPair(address, port)
        let stopped = lock.locked { () -> Bool in
            if shared.stopping { return true }
            shared.nextListener += 1
            shared.listeners[network] = Listener(id: shared.nextListener, network: network, udp: udp, tcp: tcp)
            return false
        }
        if stopped {
            close(udp); close(tcp)
            throw DNSServerError("listen udp \(address):\(bound): the DNS server is stopped")
        }
        wake()
        return bound
    }

    /// A UDP and a TCP socket on one port. Port 0 lets the system choose the UDP
    /// port, which another program may hold for TCP: then another pair is tried.
    private func bindPair(_ address: IPv4Address, _ port: UInt16) throws -> (Int32, Int32, UInt16) {
        var attempt = 0
        while true {
            let udp = try DNSSocket.listen(udp: true, address, port)
            let bound = port == 0 ? DNSSocket.port(of: udp) : port
            do { return (udp, try DNSSocket.listen(udp: false, address, bound), bound) } catch {
                close(udp)
                attempt += 1
                if port != 0 || attempt >= 8 { throw error }
            }
        }
    }

    func stopListening(network: String) {
        lock.locked {
            guard let l = shared.listeners.removeValue(forKey: network) else { return }
            shared.closing += [l.udp, l.tcp]
            shared.requested += 1
            let target = shared.requested
            wake()
            lock.wait { shared.completed >= target || shared.stopped }
        }
    }

    func setZone(network: String, _ zone: DNSZone?) {
        lock.locked {
            // The table is replaced at every container start and stop: the rotation goes
            // on where it was, or a client asking twice around a change sees one order.
            var new = zone
            if let old = shared.zones[network] { new?.continueRotation(of: old) }
            shared.zones[network] = new
        }
    }

    func setUpstreams(_ upstreams: [DNSUpstream]) {
        lock.locked { shared.upstreams = upstreams }
    }

    func stop() {
        let join = lock.locked { () -> pthread_t? in
            if !shared.stopping {
                shared.stopping = true
                wake()
            }
            lock.wait { shared.stopped }
            defer { thread = nil }
            return thread
        }
        if let join { pthread_join(join, nil) }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: the loop

    private enum Role {
        case wake, udp(Listener), accept(Listener), client(Int32, Int), forward(Int32, Int)
    }

    private func run() {
        while true {
            var listeners: [Listener] = []
            let exit = lock.locked { () -> Bool in
                for fd in shared.closing { close(fd) }
                shared.closing.removeAll()
                listeners = Array(shared.listeners.values)
                shared.completed = shared.requested
                lock.broadcast()
                return shared.stopping
            }
            if exit { return shutDown() }
            liveListeners = Set(listeners.map(\.id))
            // A stopped network's TCP clients go with its listener.
            for (fd, c) in clients where !liveListeners.contains(c.listener) { closeClient(fd) }

            var fds: [pollfd] = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            var roles: [Role] = [.wake]
            for l in listeners {
                fds.append(pollfd(fd: l.udp, events: Int16(POLLIN), revents: 0)); roles.append(.udp(l))
                fds.append(pollfd(fd: l.tcp, events: Int16(POLLIN), revents: 0)); roles.append(.accept(l))
            }
            for (fd, c) in clients {
                let events = POLLIN | (c.output.isEmpty ? 0 : POLLOUT)
                fds.append(pollfd(fd: fd, events: Int16(events), revents: 0)); roles.append(.client(fd, c.token))
            }
            for (fd, f) in forwards {
                fds.append(pollfd(fd: fd, events: Int16(f.pollEvents), revents: 0)); roles.append(.forward(fd, f.serial))
            }

            let now = monotonicMilliseconds()
            var wait = 1000
            for f in forwards.values { wait = min(wait, max(0, f.deadline - now)) }
            let n = poll(&fds, nfds_t(fds.count), Int32(wait))
            if n < 0 && errno != EINTR { continue }

            for (i, p) in fds.enumerated() where p.revents != 0 {
                switch roles[i] {
                case .wake:
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                case .udp(let l): receiveUDP(l)
                case .accept(let l): acceptClients(l)
                // A handler earlier in this round may have closed a descriptor
                // whose number a new socket now has: the token tells them apart.
                case .client(let fd, let token):
                    if clients[fd]?.token == token { serviceClient(fd, revents: p.revents) }
                case .forward(let fd, let serial):
                    if forwards[fd]?.serial == serial { serviceForward(fd, revents: p.revents) }
                }
            }
            expire()
        }
    }

    private func shutDown() {
        lock.locked {
            for l in shared.listeners.values { close(l.udp); close(l.tcp) }
            shared.listeners.removeAll()
            for fd in shared.closing { close(fd) }
            shared.closing.removeAll()
            for fd in clients.keys { close(fd) }
            for fd in forwards.keys { close(fd) }
            clients.removeAll()
            forwards.removeAll()
            close(wakeFD)
            shared.stopped = true
            lock.broadcast()
        }
    }

    // MARK: queries

    private func receiveUDP(_ l: Listener) {
        // A bounded batch per wake-up, so one busy network cannot starve the rest.
        for _ in 0..<64 {
            guard let (n, peer) = DNSSocket.receive(l.udp, into: &buffer) else { return }
            handle(Array(buffer[0..<n]), network: l.network, via: .udp(listener: l.id, fd: l.udp, peer: peer))
        }
    }

    /// Answers locally or starts forwarding.
    func handle(_ packet: [UInt8], network: String, via transport: Transport) {
        switch DNSQuery.parse(packet) {
        case .drop:
            return
        case .reply(let bytes):
            deliver(bytes, to: transport)
        case .query(let query):
            let (decision, upstreams) = lock.locked { () -> (DNSZone.Decision, [DNSUpstream]) in
                (shared.zones[network]?.decide(query.question) ?? .forward, shared.upstreams)
            }
            switch decision {
            case .answer(let records):
                let limit = transport.isUDP ? 512 : 65535
                deliver(DNSAnswer.reply(to: query, packet: packet, rcode: DNSRcode.noError, records: records, limit: limit), to: transport)
            case .forward:
                forward(query, packet: packet, from: transport, upstreams: upstreams)
            }
        }
    }

    func deliver(_ bytes: [UInt8], to transport: Transport) {
        switch transport {
        case .udp(let listener, let fd, let peer):
            // The network may have stopped listening while a forward was out.
            guard liveListeners.contains(listener) else { return }
            DNSSocket.send(fd, bytes, to: peer)
        case .tcp(let fd, let token):
            guard clients[fd]?.token == token else { return }
            clients[fd]!.output += tcpFrame(bytes)
            clients[fd]!.lastActive = monotonicMilliseconds()
            flush(fd)
        }
    }

    // MARK: TCP clients

    private func acceptClients(_ l: Listener) {
        while let fd = DNSSocket.accept(l.tcp) {
            guard clients.count < DNSEngine.maxClients else { close(fd); continue }
            nextToken += 1
            clients[fd] = TCPClient(token: nextToken, network: l.network, listener: l.id, lastActive: monotonicMilliseconds())
        }
    }

    private func serviceClient(_ fd: Int32, revents: Int16) {
        guard clients[fd] != nil else { return }
        if revents & Int16(POLLOUT) != 0 { flush(fd) }
        guard clients[fd] != nil, revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return closeClient(fd) }
        guard n > 0, var c = clients[fd] else { return }
        c.input += buffer[0..<n]
        c.lastActive = monotonicMilliseconds()
        var messages: [[UInt8]] = []
        while c.input.count >= 2 {
            let length = Int(readU16(c.input, 0))
            // A zero-length message cannot hold a header: the stream is broken.
            if length == 0 { return closeClient(fd) }
            guard c.input.count >= 2 + length else { break }
            messages.append(Array(c.input[2..<(2 + length)]))
            c.input.removeFirst(2 + length)
        }
        clients[fd] = c
        for m in messages { handle(m, network: c.network, via: .tcp(client: fd, token: c.token)) }
    }

    private func flush(_ fd: Int32) {
        guard let c = clients[fd], !c.output.isEmpty else { return }
        guard let n = DNSSocket.write(fd, c.output[...]) else { return closeClient(fd) }
        clients[fd]!.output.removeFirst(n)
    }

    func closeClient(_ fd: Int32) {
        guard clients.removeValue(forKey: fd) != nil else { return }
        close(fd)
    }

    private func expire() {
        let now = monotonicMilliseconds()
        for (fd, c) in clients where now - c.lastActive > DNSEngine.idleMilliseconds {
            let waiting = forwards.values.contains { if case .tcp(fd, c.token) = $0.transport { return true } else { return false } }
            if !waiting { closeClient(fd) }
        }
        for (fd, f) in forwards where f.deadline <= now { failOver(fd) }
    }
}
