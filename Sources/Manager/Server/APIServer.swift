import CBerth
import Glibc
import OCI
import RPC
import Synchronization

/// berthd's JSON-RPC 2.0 server (docs/berthd-api.md): a method table of typed
/// handlers, served on a unix socket with the shim's framing.
///
/// Threads: one accepts connections, one per connection reads and writes
/// (blocking syscalls stay off the cooperative pool); each request runs as a
/// Task on Swift concurrency's global executor.
///
///     server.register(BerthMethod("image.pull")) { (p: PullParams, ctx) async throws -> PullResult in
///         ctx.progress(PullProgress(id: "a3ed95caeb02", status: "Downloading", current: 1024, total: 4096))
///         try ctx.checkCancellation()
///         return PullResult(...)
///     }
public final class APIServer: Sendable {
    /// A method as the server runs it: raw params in, a result tree out.
    public typealias Handler = @Sendable (JSONValue?, RequestContext) async throws -> JSONValue

    public let logger: Logger
    private let methods = Mutex<[String: Handler]>([:])
    private let state = Mutex(State())

    private struct State {
        var listenFD: Int32 = -1
        var stopFD: Int32 = -1
        var acceptorRunning = false
        var shuttingDown = false
        var connections: [ObjectIdentifier: ClientConnection] = [:]
        var inFlight = 0
        var served = 0
    }

    public init(logger: Logger) {
        self.logger = logger
        registerHello()
    }

    // MARK: The method table

    /// Registers a method. Params are decoded from the request's `params`
    /// (absent reads as `{}`; a decoding failure is `invalidParams` naming the
    /// field); the result is encoded with JSONValueEncoder. What the handler
    /// throws becomes the error response: a BerthError or RPCError as it is,
    /// CancellationError as `canceled`, anything else as `internal`.
    public func register<P: Decodable & SendableMetatype, R: Encodable & SendableMetatype>(
        _ method: BerthMethod, _ handler: @escaping @Sendable (P, RequestContext) async throws -> R
    ) {
        let name = method.rawValue
        registerRaw(method) { params, ctx in
            let p: P
            do { p = try JSONValueDecoder().decode(P.self, from: params ?? .object([])) }
            catch { throw BerthError(.invalidParams, "invalid params: \(error)") }
            let r = try await handler(p, ctx)
            do { return try JSONValueEncoder().encode(r) }
            catch { throw BerthError.internal("\(name): cannot encode the result: \(error)") }
        }
    }

    /// Registers a method that works on the JSON tree itself.
    public func registerRaw(_ method: BerthMethod, _ handler: @escaping Handler) {
        methods.withLock { $0[method.rawValue] = handler }
    }

    /// The names of every registered method, sorted.
    public var methodNames: [String] { methods.withLock { $0.keys.sorted() } }

    /// Calls a method in-process, as a request would (tests, internal callers).
    public func call(_ method: String, _ params: JSONValue? = nil, context: RequestContext? = nil) async throws -> JSONValue {
        guard let h = methods.withLock({ $0[method] }) else { throw BerthError(.methodNotFound, "method not found: \(method)") }
        return try await h(params, context ?? .detached(method: method, logger: logger))
    }

    private func registerHello() {
        register(.hello) { [logger] (p: BerthAPI.HelloParams, ctx: RequestContext) -> BerthAPI.HelloResult in
            guard BerthAPI.supportedVersions.contains(p.version) else {
                throw BerthError(.unsupportedVersion,
                                 "unsupported API version \(p.version): this berthd speaks \(BerthAPI.supportedVersions.map(String.init).joined(separator: ", "))",
                                 data: ["supported": .array(BerthAPI.supportedVersions.map { .int($0) })])
            }
            ctx.connection?.setAPIVersion(p.version)
            logger.debug("hello", ["client": p.client ?? "", "version": String(p.version), "pid": ctx.peer.map { String($0.pid) } ?? ""])
            return BerthAPI.HelloResult(version: p.version, methods: self.methodNames)
        }
    }

    // MARK: Dispatch

    func dispatch(id: RPCID, method: String, params: JSONValue?, on connection: ClientConnection) {
        func fail(_ e: BerthError) { connection.send(.error(id: id, error: e.rpc)) }
        let accepted = state.withLock { s -> Bool in
            if s.shuttingDown { return false }
            s.inFlight += 1
            return true
        }
        guard accepted else { return fail(.unavailable("berthd is shutting down")) }
        guard let handler = methods.withLock({ $0[method] }) else {
            requestDone()
            return fail(BerthError(.methodNotFound, "method not found: \(method)"))
        }
        if case .array = params {
            requestDone()
            return fail(BerthError(.invalidParams, "invalid params: params must be an object"))
        }
        let ctx = RequestContext(id: id, method: method, connection: connection, logger: logger)
        connection.start(id: id) { [self] in
            let started = Clock.monotonicMillis()
            let reply: RPCMessage
            do {
                reply = .result(id: id, result: try await handler(params, ctx))
            } catch {
                let e = rpcError(error, method: method)
                if e.code == BerthError.Code.internal.rawValue || e.code == BerthError.Code.internalJSONRPC.rawValue {
                    logger.error("\(method) failed: \(e.message)")
                }
                reply = .error(id: id, error: e)
            }
            connection.send(reply)
            logger.debug("request", ["method": method, "id": describe(id), "ms": String(Clock.monotonicMillis() - started)])
            requestDone()
        }
    }

    private func requestDone() { state.withLock { $0.inFlight -= 1; $0.served += 1 } }

    /// The JSON-RPC error for what a handler threw.
    func rpcError(_ error: any Error, method: String) -> RPCError {
        switch error {
        case let e as BerthError: return e.rpc
        case let e as RPCError: return e
        case is CancellationError: return BerthError.canceled("\(method): canceled").rpc
        default: return BerthError.internal("\(method): \(error)").rpc
        }
    }

    private func describe(_ id: RPCID) -> String {
        switch id {
        case .number(let n): return String(n)
        case .string(let s): return s
        }
    }

    // MARK: Listening and shutdown

    /// Binds `path` (which must not exist: the daemon removes a stale socket
    /// first) and starts accepting on a thread of its own.
    public func listen(on path: String, mode: mode_t = 0o660, group: gid_t? = nil) throws(DaemonError) {
        let fd = try UnixSocketListener.listen(path, mode: mode, group: group)
        let stop = cb_eventfd_cloexec()
        if stop < 0 { close(fd); throw DaemonError.errno("eventfd") }
        state.withLock { s in
            s.listenFD = fd
            s.stopFD = stop
            s.acceptorRunning = true
        }
        guard Thread.detach({ [self] in acceptLoop(fd, stop) }) else {
            close(fd); close(stop)
            throw DaemonError("cannot start the accept thread")
        }
    }

    private func acceptLoop(_ listenFD: Int32, _ stopFD: Int32) {
        defer {
            state.withLock { s in
                close(s.listenFD)
                close(s.stopFD)
                s.listenFD = -1
                s.stopFD = -1
                s.acceptorRunning = false
            }
        }
        while true {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; logger.error("accept: poll: errno \(errno)"); return }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            // accept4 is hidden behind _GNU_SOURCE in Glibc's module; berthd
            // spawns children only through cb_spawn, which closes stray fds,
            // so setting FD_CLOEXEC just after accept is enough.
            let c = accept(listenFD, nil, nil)
            if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
            if c < 0 {
                // EMFILE and friends: log, back off a little, keep serving.
                if errno != EINTR && errno != EAGAIN && errno != ECONNABORTED {
                    logger.error("accept: \(String(cString: strerror(errno)))")
                    usleep(100_000)
                }
                continue
            }
            serve(fd: c)
        }
    }

    /// Serves one connected socket (also used by tests with a socketpair).
    func serve(fd: Int32) {
        guard let conn = ClientConnection(fd: fd, server: self) else { close(fd); return }
        let accepted = state.withLock { s -> Bool in
            if s.shuttingDown { return false }
            s.connections[ObjectIdentifier(conn)] = conn
            return true
        }
        // A connection that arrives while stopping is served until idle, so
        // that it reads "berthd is shutting down" rather than a reset.
        if !accepted { conn.stopWhenIdle() }
        if !Thread.detach({ conn.run() }) {
            logger.error("cannot start a thread for a new connection")
            conn.abort()
            state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(conn)) }
        }
    }

    func connectionClosed(_ conn: ClientConnection) {
        state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(conn)) }
    }

    /// How many requests have been answered since start (the idle trimmer's clock).
    public var requestsServed: Int { state.withLock { $0.served } }

    /// How many requests are being served now.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Stops accepting, lets the requests in flight finish for up to
    /// `graceMillis` (new requests are refused with `unavailable`), then
    /// closes every connection (what still runs sees cancellation). Returns
    /// the number of requests cut short.
    @discardableResult
    public func shutdown(graceMillis: Int64 = 5000) -> Int {
        let stop = state.withLock { s -> Int32 in
            s.shuttingDown = true
            return s.stopFD
        }
        if stop >= 0 {
            var one: UInt64 = 1
            _ = write(stop, &one, 8)
        }
        let deadline = Clock.monotonicMillis() + graceMillis
        while (inFlight > 0 || state.withLock({ $0.acceptorRunning })) && Clock.monotonicMillis() < deadline { usleep(5_000) }
        let cut = inFlight
        let conns = state.withLock { Array($0.connections.values) }
        for c in conns { if cut > 0 { c.abort() } else { c.stopWhenIdle() } }
        // Give the connection threads a moment to flush the last responses and close.
        let closeDeadline = Clock.monotonicMillis() + 500
        while state.withLock({ !$0.connections.isEmpty }) && Clock.monotonicMillis() < closeDeadline { usleep(2_000) }
        return cut
    }
}
