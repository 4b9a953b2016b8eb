import Glibc
import OCI

/// A blocking client of berthd: one call at a time over one connection,
/// opened at the first call (so a CLI can print what it knows before it
/// finds the daemon down). No Foundation, no threads: it suits the CLI, the
/// tests, and any tool linked against RPC.
///
/// Long operations stream `progress` notifications tied to the request id:
/// pass `progress:` to receive their params while waiting for the result.
/// Other notifications go to `onNotification`. Errors are `BerthError`:
/// `fromDaemon` is true when berthd answered with an error, false when the
/// client could not connect or lost the connection.
public final class BerthClient {
    /// The socket path, and the address as printed ("unix:///run/berth/berthd.sock").
    public let socketPath: String
    public var address: String { "unix://" + socketPath }
    /// Gives up waiting for a response after this long; < 0 waits forever.
    public var timeoutMillis: Int32 = -1
    /// Notifications other than the progress of the current call.
    public var onNotification: ((_ method: String, _ params: JSONValue?) -> Void)?

    // Internal (not private) for the streaming calls in BerthClient+Stream.swift.
    var fd: Int32 = -1
    var framer = LineFramer()
    var nextID: Int64 = 1

    /// `host`: "unix:///path" or a plain path; nil is the default socket.
    public init(host: String? = nil) throws(BerthError) {
        socketPath = try BerthClient.socketPath(fromHost: host ?? "unix://" + BerthAPI.defaultSocket)
    }

    /// The path in a host address: `unix:///run/berth/berthd.sock` or `/run/berth/berthd.sock`.
    public static func socketPath(fromHost host: String) throws(BerthError) -> String {
        if host.hasPrefix("unix://") {
            let path = String(host.dropFirst(7))
            guard !path.isEmpty else { throw BerthError(.invalidArgument, "invalid host \(host): no socket path", fromDaemon: false) }
            return path
        }
        if host.hasPrefix("/") || host.hasPrefix(".") { return host }
        throw BerthError(.invalidArgument, "unsupported host \(host): berthd is reached through a unix socket (unix:///path)", fromDaemon: false)
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        framer = LineFramer()
    }

    /// Connects if not connected yet. Mirrors Docker's wording when nothing listens.
    public func connect() throws(BerthError) {
        if fd >= 0 { return }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if s < 0 { throw clientError("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            Glibc.close(s)
            throw BerthError(.invalidArgument, "socket path too long (at most 107 bytes): \(socketPath)", fromDaemon: false)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        var rc: Int32
        repeat {
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } while rc != 0 && errno == EINTR
        if rc != 0 {
            let e = errno
            Glibc.close(s)
            if e == EACCES || e == EPERM {
                throw BerthError(.permissionDenied, "permission denied while trying to connect to the berth daemon socket at \(address): connect: \(String(cString: strerror(e)))", fromDaemon: false)
            }
            throw BerthError(.unavailable, "Cannot connect to the berth daemon at \(address). Is berthd running?", fromDaemon: false)
        }
        fd = s
    }

    func clientError(_ m: String) -> BerthError { BerthError(.unavailable, m, fromDaemon: false) }

    func send(_ message: RPCMessage) throws(BerthError) {
        let bytes = message.frame
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close()
                throw clientError("lost the connection to the berth daemon at \(address): \(String(cString: strerror(e)))")
            }
            off += n
        }
    }

    /// The next message; nil on timeout.
    private func receive(timeoutMillis: Int32) throws(BerthError) -> RPCMessage? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            do {
                if let line = try framer.next() { return try RPCMessage.parse(line) }
            } catch {
                close()
                throw clientError("bad message from the berth daemon: \(error.message)")
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, timeoutMillis)
            if r < 0 { if errno == EINTR { continue }; throw clientError("poll: \(String(cString: strerror(errno)))") }
            if r == 0 { return nil }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
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

    /// Sends a request and waits for its response. `progress` receives the
    /// params of each `progress` notification for this request (including
    /// the `request` field). An error response is thrown as a BerthError.
    public func call(_ method: String, _ params: JSONValue? = nil,
                     progress: ((JSONValue) -> Void)? = nil) throws(BerthError) -> JSONValue {
        try connect()
        let id = RPCID.number(nextID)
        nextID += 1
        try send(.request(id: id, method: method, params: params))
        while true {
            guard let m = try receive(timeoutMillis: timeoutMillis) else {
                close()  // a late answer must not be read as the next call's
                throw BerthError(.unavailable, "\(method): no answer from the berth daemon within \(timeoutMillis) ms", fromDaemon: false)
            }
            switch m {
            case let .notification(name, params):
                if name == BerthAPI.progressNotification, let params, params["request"].flatMap(RPCID.init) == id {
                    progress?(params)
                } else {
                    onNotification?(name, params)
                }
            case .result(let rid, let result) where rid == id: return result
            case .error(let rid, let error) where rid == id || rid == nil: throw BerthError(error)
            default: continue
            }
        }
    }

    /// A typed call: params encoded with JSONValueEncoder, the result decoded
    /// with JSONValueDecoder; `progress` receives each notification decoded as `Progress`.
    public func call<P: Encodable, R: Decodable>(_ method: BerthMethod, _ params: P, as: R.Type = R.self) throws(BerthError) -> R {
        try decode(R.self, method, try call(method.rawValue, encode(params, method)))
    }

    public func call<R: Decodable>(_ method: BerthMethod, as: R.Type = R.self) throws(BerthError) -> R {
        try decode(R.self, method, try call(method.rawValue, nil))
    }

    public func call<P: Encodable, R: Decodable, Progress: Decodable>(
        _ method: BerthMethod, _ params: P, as: R.Type = R.self,
        progress: @escaping (Progress) -> Void
    ) throws(BerthError) -> R {
        var bad: BerthError?
        let result = try call(method.rawValue, encode(params, method)) { v in
            do { progress(try JSONValueDecoder().decode(Progress.self, from: v)) }
            catch { if bad == nil { bad = BerthError(.internal, "bad \(method) progress from the berth daemon: \(error)", fromDaemon: false) } }
        }
        if let bad { throw bad }
        return try decode(R.self, method, result)
    }

    private func encode<P: Encodable>(_ params: P, _ method: BerthMethod) throws(BerthError) -> JSONValue {
        do { return try JSONValueEncoder().encode(params) }
        catch { throw BerthError(.invalidArgument, "\(method): cannot encode params: \(error)", fromDaemon: false) }
    }

    private func decode<R: Decodable>(_ type: R.Type, _ method: BerthMethod, _ v: JSONValue) throws(BerthError) -> R {
        do { return try JSONValueDecoder().decode(R.self, from: v) }
        catch { throw BerthError(.internal, "bad \(method) result from the berth daemon: \(error)", fromDaemon: false) }
    }

    // The built-in methods.
    public func hello(version: Int = BerthAPI.version, client: String? = nil) throws(BerthError) -> BerthAPI.HelloResult {
        try call(.hello, BerthAPI.HelloParams(version: version, client: client))
    }
    public func version() throws(BerthError) -> BerthAPI.VersionResult { try call(.version) }
    public func info() throws(BerthError) -> BerthAPI.InfoResult { try call(.info) }
}
