import CBerth
import Glibc
import OCI
import RPC
import Synchronization

/// One client's connection to berthd. A thread of its own reads requests
/// (poll on the socket and on an eventfd that wakes it); each request runs as
/// a Task; responses and notifications are queued by whoever produces them
/// and written without blocking (what the socket does not take now is written
/// by the thread when the socket drains), so a slow client never blocks a
/// handler or the cooperative pool.
///
/// Requests on one connection run concurrently; responses go out as they
/// finish, matched by id (JSON-RPC allows any order).
final class ClientConnection: Sendable {
    let fd: Int32
    let peer: PeerCredentials?
    private let wakeFD: Int32
    private let server: APIServer
    private let state = Mutex(State())

    /// A client that stops reading may hold at most this much unsent output
    /// before berthd drops it.
    static let maxQueued = 64 << 20

    private struct State {
        var out: [UInt8] = []
        var outStart = 0
        var closed = false
        var stopWhenIdle = false
        var nextKey = 0
        var tasks: [Int: (id: RPCID, task: Task<Void, Never>)] = [:]
        var canceled: Set<RPCID> = []
        var apiVersion = BerthAPI.version
        /// Client notifications addressed to a request (`{"request": ID, …}`):
        /// stdin and resizes of an attach. Held until the handler registers.
        var inputHandlers: [RPCID: InputHandler] = [:]
        var pendingInput: [RPCID: [(String, JSONValue?)]] = [:]

        var queued: Int { out.count - outStart }
    }

    init?(fd: Int32, server: APIServer) {
        let w = cb_eventfd_cloexec()
        guard w >= 0 else { return nil }
        self.fd = fd
        self.wakeFD = w
        self.server = server
        self.peer = PeerCredentials.of(socket: fd)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    var isClosed: Bool { state.withLock { $0.closed } }
    func isCanceled(_ id: RPCID) -> Bool { state.withLock { $0.canceled.contains(id) } }
    var apiVersion: Int { state.withLock { $0.apiVersion } }
    func setAPIVersion(_ v: Int) { state.withLock { $0.apiVersion = v } }
    var inFlight: Int { state.withLock { $0.tasks.count } }

    /// Queues a message; false when the connection is closed.
    @discardableResult
    func send(_ message: RPCMessage) -> Bool {
        let frame = message.frame
        return state.withLock { s in
            guard !s.closed else { return false }
            var start = 0
            if s.queued == 0 {
                // Nothing waits before it: try to write it now.
                let n = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, frame.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n > 0 { start = n }
                if start == frame.count { return true }
            }
            if s.queued + frame.count - start > ClientConnection.maxQueued {
                // The client does not read: drop it (the thread sees EOF and cleans up).
                Glibc.shutdown(fd, Int32(SHUT_RDWR))
                return false
            }
            s.out.append(contentsOf: frame[start...])
            wake()
            return true
        }
    }

    /// Starts a request's Task, tracked so that it can be canceled.
    func start(id: RPCID, _ body: @escaping @Sendable () async -> Void) {
        state.withLock { s in
            let key = s.nextKey
            s.nextKey += 1
            // Created under the lock, so that its own `finished` (which takes
            // the lock) always finds it in the table.
            let task = Task { [self] in
                await body()
                finished(key)
            }
            s.tasks[key] = (id, task)
        }
    }

    typealias InputHandler = @Sendable (_ method: String, _ params: JSONValue?) -> Void
    /// At most this many notifications wait for a request's input handler.
    static let maxPendingInput = 4096

    /// Registers the handler of a request's input; what arrived before it is delivered now, in order.
    func setInputHandler(_ id: RPCID, _ handler: @escaping InputHandler) {
        let pending = state.withLock { s -> [(String, JSONValue?)] in
            s.inputHandlers[id] = handler
            return s.pendingInput.removeValue(forKey: id) ?? []
        }
        for (m, p) in pending { handler(m, p) }
    }

    private func input(_ id: RPCID, _ method: String, _ params: JSONValue?) {
        let handler = state.withLock { s -> InputHandler? in
            if let h = s.inputHandlers[id] { return h }
            guard s.tasks.values.contains(where: { $0.id == id }) else { return nil }
            if s.pendingInput[id, default: []].count < Self.maxPendingInput { s.pendingInput[id, default: []].append((method, params)) }
            return nil
        }
        handler?(method, params)
    }

    private func finished(_ key: Int) {
        state.withLock { s in
            if let t = s.tasks.removeValue(forKey: key), !s.tasks.values.contains(where: { $0.id == t.id }) {
                s.canceled.remove(t.id)
                s.inputHandlers[t.id] = nil
                s.pendingInput[t.id] = nil
            }
            if s.stopWhenIdle, !s.closed { wake() }
        }
    }

    /// The client's `cancel` notification: cancels the request with that id.
    func cancel(_ id: RPCID) {
        state.withLock { s in
            let matching = s.tasks.values.filter { $0.id == id }
            guard !matching.isEmpty else { return }
            s.canceled.insert(id)
            for t in matching { t.task.cancel() }
        }
    }

    /// Asks the thread to close the connection once its requests are answered and sent.
    func stopWhenIdle() {
        state.withLock { s in
            s.stopWhenIdle = true
            if !s.closed { wake() }
        }
    }

    /// Closes the connection now: in-flight requests see cancellation.
    func abort() {
        state.withLock { s in
            if !s.closed { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    /// The connection's loop; returns when the client went away or berthd stops.
    func run() {
        var framer = LineFramer()
        var buf = [UInt8](repeating: 0, count: 65536)
        loop: while true {
            let (wantOut, idleStop) = state.withLock { s in (s.queued > 0, s.stopWhenIdle && s.tasks.isEmpty && s.queued == 0) }
            if idleStop { break }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN) | (wantOut ? Int16(POLLOUT) : 0), revents: 0),
                       pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let r = poll(&fds, 2, -1)
            if r < 0 { if errno == EINTR { continue }; break }
            if fds[1].revents != 0 {
                var v: UInt64 = 0
                _ = Glibc.read(wakeFD, &v, 8)
            }
            if fds[0].revents & Int16(POLLOUT) != 0, !flush() { break }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                while true {
                    let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        if errno == EAGAIN || errno == EWOULDBLOCK { break }
                        break loop
                    }
                    if n == 0 { break loop }  // the client went away
                    framer.append(buf[0..<n])
                    do {
                        while let line = try framer.next() { handle(line) }
                    } catch {
                        // A line over the limit: answer, then close (docs/berthd-api.md, Framing).
                        send(.error(id: nil, error: error))
                        _ = flush()
                        break loop
                    }
                }
            }
        }
        close()
    }

    /// Writes what is queued; false when the socket is broken.
    private func flush() -> Bool {
        state.withLock { s in
            while s.queued > 0 {
                let (start, count) = (s.outStart, s.queued)
                let n = s.out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + start, count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno == EAGAIN || errno == EWOULDBLOCK
                }
                s.outStart += n
            }
            s.out.removeAll(keepingCapacity: false)
            s.outStart = 0
            return true
        }
    }

    private func handle(_ line: [UInt8]) {
        let message: RPCMessage
        do { message = try RPCMessage.parse(line) } catch {
            send(.error(id: nil, error: error))
            return
        }
        switch message {
        case let .request(id, method, params):
            server.dispatch(id: id, method: method, params: params, on: self)
        case let .notification(method, params) where method == "cancel":
            if let id = params?["request"].flatMap(rpcID) { cancel(id) }
        case let .notification(method, params):
            if let id = params?["request"].flatMap(rpcID) { input(id, method, params) }
        default:
            // Other notifications, and responses (berthd sends no requests), are ignored.
            break
        }
    }

    private func close() {
        state.withLock { s in
            s.closed = true
            for t in s.tasks.values { t.task.cancel() }
            s.inputHandlers = [:]
            s.pendingInput = [:]
            s.out = []
            s.outStart = 0
            Glibc.close(fd)
            Glibc.close(wakeFD)
        }
        server.connectionClosed(self)
    }
}

/// A request id from JSON (RPCID's own initializer is internal to RPC).
func rpcID(_ v: JSONValue) -> RPCID? {
    switch v {
    case .number(let n): return Int64(n).map(RPCID.number)
    case .string(let s): return .string(s)
    default: return nil
    }
}
