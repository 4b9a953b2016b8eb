import Glibc
import OCI

/// Streaming calls (attach, exec, logs -f, events, stats): the caller sends a
/// request without waiting, then loops on `nextEvent`, which hands over each
/// message from berthd and tells when one of the caller's own descriptors
/// (stdin, a signalfd) is readable, so one thread serves both directions.
/// Several requests may be in flight on the connection; results and errors
/// carry their request's id.
///
///     let id = try client.send(request: "container.attach", params)
///     loop: switch try client.nextEvent(watching: [STDIN_FILENO]) {
///     case .notification("output", let p): …            // print
///     case .readable(STDIN_FILENO): …  try client.sendStdin(request: id, data: text)
///     case .result(id, let r): return r
///     case .error(id, let e): throw e
///     default: continue
///     }
extension BerthClient {
    /// What `nextEvent` saw.
    public enum StreamEvent: Sendable, Equatable {
        /// The response of a request sent with `send(request:)`.
        case result(RPCID, JSONValue)
        /// An error response (a nil id: berthd could not read a request).
        case error(RPCID?, BerthError)
        case notification(String, JSONValue?)
        /// One of the watched descriptors is readable (or at end of file, or hung up).
        case readable(Int32)
        case timeout
    }

    /// The connection's descriptor (connecting first), for callers that poll it themselves.
    public var connectionFD: Int32 {
        get throws(BerthError) {
            try connect()
            return fd
        }
    }

    /// Sends a request and returns at once with its id; the response comes
    /// through `nextEvent`.
    @discardableResult
    public func send(request method: String, _ params: JSONValue?) throws(BerthError) -> RPCID {
        try connect()
        let id = RPCID.number(nextID)
        nextID += 1
        try send(.request(id: id, method: method, params: params))
        return id
    }

    /// A typed `send(request:)`.
    @discardableResult
    public func send<P: Encodable>(request method: BerthMethod, _ params: P) throws(BerthError) -> RPCID {
        let v: JSONValue
        do { v = try JSONValueEncoder().encode(params) }
        catch { throw BerthError(.invalidArgument, "\(method): cannot encode params: \(error)", fromDaemon: false) }
        return try send(request: method.rawValue, v)
    }

    /// Sends a notification (no response).
    public func notify(_ method: String, _ params: JSONValue?) throws(BerthError) {
        try connect()
        try send(.notification(method: method, params: params))
    }

    /// `stdin` {"request", "data"}: what the user typed, for the stream `request`.
    public func sendStdin(request: RPCID, data: String) throws(BerthError) {
        try notify(BerthAPI.StreamNotification.stdin, .object([("request", request.json), ("data", .string(data))]))
    }

    /// `stdin.close` {"request"}: end of the user's input.
    public func closeStdin(request: RPCID) throws(BerthError) {
        try notify(BerthAPI.StreamNotification.stdinClose, .object([("request", request.json)]))
    }

    /// `resize` {"request", "width", "height"}: the terminal's size.
    public func resize(request: RPCID, width: Int, height: Int) throws(BerthError) {
        try notify(BerthAPI.StreamNotification.resize, .object([("request", request.json), ("width", .int(width)), ("height", .int(height))]))
    }

    /// `cancel` {"request"}: berthd ends the request (answering `canceled`).
    public func cancel(request: RPCID) throws(BerthError) {
        try notify("cancel", .object([("request", request.json)]))
    }

    /// The next message from berthd, or the first of `fds` found readable;
    /// `.timeout` after `timeoutMillis` (< 0 waits forever). Messages already
    /// received come first. A lost connection is thrown (fromDaemon false).
    public func nextEvent(watching fds: [Int32] = [], timeoutMillis: Int32 = -1) throws(BerthError) -> StreamEvent {
        try connect()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let line: [UInt8]?
            do { line = try framer.next() } catch {
                close()
                throw clientError("bad message from the berth daemon: \(error.message)")
            }
            if let line {
                let m: RPCMessage
                do { m = try RPCMessage.parse(line) } catch {
                    close()
                    throw clientError("bad message from the berth daemon: \(error.message)")
                }
                switch m {
                case let .notification(name, params): return .notification(name, params)
                case let .result(id, result): return .result(id, result)
                case let .error(id, error): return .error(id, BerthError(error))
                case .request: continue  // berthd sends no requests
                }
            }
            var polls = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            for f in fds { polls.append(pollfd(fd: f, events: Int16(POLLIN), revents: 0)) }
            let r = poll(&polls, nfds_t(polls.count), timeoutMillis)
            if r < 0 {
                if errno == EINTR { continue }
                throw clientError("poll: \(String(cString: strerror(errno)))")
            }
            if r == 0 { return .timeout }
            // The caller's descriptors first: input typed while output floods in still gets through.
            for p in polls.dropFirst() where p.revents != 0 { return .readable(p.fd) }
            if polls[0].revents & Int16(POLLNVAL) != 0 { throw clientError("the connection to the berth daemon is closed") }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                let e = errno
                close()
                throw clientError("lost the connection to the berth daemon at \(address): \(String(cString: strerror(e)))")
            }
            if n == 0 {
                close()
                throw clientError("the berth daemon at \(address) closed the connection")
            }
            framer.append(buf[0..<n])
        }
    }
}

extension RPCID {
    /// The id a notification's `request` field names, if it is one.
    public init?(json: JSONValue?) {
        guard let json else { return nil }
        self.init(json)
    }
}
