import Glibc
import OCI

/// A blocking client of one shim: one call at a time over one connection.
/// Notifications that arrive while waiting for a response are kept in
/// `notifications` (oldest first). Not thread-safe; no Foundation.
public final class ShimClient {
    public let fd: Int32
    private var framer = LineFramer()
    private var nextID: Int64 = 1
    public var notifications: [RPCMessage] = []

    /// Connects to "unix:///path" or a plain path.
    public init(address: String) throws(RPCError) {
        let path = address.hasPrefix("unix://") ? String(address.dropFirst(7)) : address
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if s < 0 { throw RPCError(RPCError.shimFailed, "socket: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(s); throw RPCError(RPCError.shimFailed, "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(s)
            throw RPCError(RPCError.shimFailed, "connect \(path): \(String(cString: strerror(e)))")
        }
        fd = s
    }

    deinit { close(fd) }

    public func send(_ message: RPCMessage) throws(RPCError) {
        let bytes = message.frame
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RPCError(RPCError.shimFailed, "send: \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }

    /// The next message from the shim; nil on timeout. timeoutMillis < 0 waits forever.
    public func receive(timeoutMillis: Int32 = -1) throws(RPCError) -> RPCMessage? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let line = try framer.next() { return try RPCMessage.parse(line) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, timeoutMillis)
            if r < 0 { if errno == EINTR { continue }; throw RPCError(RPCError.shimFailed, "poll: errno \(errno)") }
            if r == 0 { return nil }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw RPCError(RPCError.shimFailed, "read: \(String(cString: strerror(errno)))") }
            if n == 0 { throw RPCError(RPCError.shimFailed, "the shim closed the connection") }
            framer.append(buf[0..<n])
        }
    }

    /// Sends a request and waits for its response; an error response is thrown.
    public func call(_ method: String, _ params: JSONValue? = nil, timeoutMillis: Int32 = -1) throws(RPCError) -> JSONValue {
        let id = RPCID.number(nextID)
        nextID += 1
        try send(.request(id: id, method: method, params: params))
        while true {
            guard let m = try receive(timeoutMillis: timeoutMillis) else {
                throw RPCError(RPCError.shimFailed, "\(method): no response within \(timeoutMillis) ms")
            }
            switch m {
            case .notification: notifications.append(m)
            case .result(let rid, let result) where rid == id: return result
            case .error(let rid, let error) where rid == id || rid == nil: throw error
            default: continue
            }
        }
    }

    public func call<R: RPCValue>(_ method: ShimMethod, _ params: JSONValue? = nil, as: R.Type,
                                  timeoutMillis: Int32 = -1) throws(RPCError) -> R {
        let v = try call(method.rawValue, params, timeoutMillis: timeoutMillis)
        do { return try JSONValueDecoder().decode(R.self, from: v) }
        catch { throw RPCError(RPCError.internalError, "bad \(method.rawValue) result: \(error)") }
    }

    // Typed calls.
    public func hello(version: Int = ShimProtocol.version) throws(RPCError) -> HelloResult {
        try call(.hello, HelloParams(version: version).json, as: HelloResult.self)
    }
    public func create(_ p: CreateParams = CreateParams()) throws(RPCError) -> PidResult { try call(.create, p.json, as: PidResult.self) }
    public func start() throws(RPCError) -> PidResult { try call(.start, as: PidResult.self) }
    public func state() throws(RPCError) -> StateResult { try call(.state, as: StateResult.self) }
    public func pids() throws(RPCError) -> PidsResult { try call(.pids, as: PidsResult.self) }
    public func kill(signal: Int = 15, all: Bool = false, execID: String? = nil) throws(RPCError) {
        _ = try call(.kill, KillParams(signal: signal, all: all, execID: execID).json, as: Empty.self)
    }
    public func wait(execID: String? = nil, timeoutMillis: Int32 = -1) throws(RPCError) -> ExitInfo {
        try call(.wait, ExecRef(execID: execID).json, as: ExitInfo.self, timeoutMillis: timeoutMillis)
    }
    public func delete(execID: String? = nil) throws(RPCError) -> ExitInfo { try call(.delete, ExecRef(execID: execID).json, as: ExitInfo.self) }
    public func exec(_ p: ExecParams) throws(RPCError) -> PidResult { try call(.exec, p.json, as: PidResult.self) }
    public func state(execID: String) throws(RPCError) -> StateResult { try call(.state, ExecRef(execID: execID).json, as: StateResult.self) }
    public func resizePty(width: Int, height: Int, execID: String? = nil) throws(RPCError) {
        _ = try call(.resizePty, ResizeParams(width: width, height: height, execID: execID).json, as: Empty.self)
    }
    /// Returns how many bytes of `stdin` were written.
    @discardableResult
    public func attach(output: Bool = true, stdin: String? = nil, execID: String? = nil) throws(RPCError) -> Int {
        Int(try call(ShimMethod.attach.rawValue, AttachParams(output: output, stdin: stdin, execID: execID).json)["written"]?.int64Value ?? 0)
    }
    public func closeStdin(execID: String? = nil) throws(RPCError) { _ = try call(.closeStdin, ExecRef(execID: execID).json, as: Empty.self) }
    public func connect(events: String? = nil) throws(RPCError) -> ConnectResult {
        try call(.connect, ConnectParams(events: events).json, as: ConnectResult.self)
    }
    public func pause() throws(RPCError) { _ = try call(.pause, as: Empty.self) }
    public func resume() throws(RPCError) { _ = try call(.resume, as: Empty.self) }
    public func update(resources: JSONValue) throws(RPCError) { _ = try call(.update, UpdateParams(resources: resources).json, as: Empty.self) }
    /// The runtime's stats object (`runtime events --stats`' "data").
    public func stats() throws(RPCError) -> JSONValue { try call(ShimMethod.stats.rawValue) }
    public func shutdown(force: Bool = false) throws(RPCError) { _ = try call(.shutdown, ShutdownParams(force: force).json, as: Empty.self) }
}
