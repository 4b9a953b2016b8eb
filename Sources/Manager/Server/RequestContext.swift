import OCI
import RPC

/// What a method handler knows about the request it serves, and how it talks
/// back before its result: progress notifications tied to the request id,
///
///     {"jsonrpc":"2.0","method":"progress","params":{"request":7,"id":"a3ed95caeb02","status":"Downloading","current":1024,"total":4096}}
///
/// and whether the client went away (it closed the connection, or sent a
/// `cancel` notification naming this request): a long operation checks
/// `isCancelled` or calls `checkCancellation()` between steps. The handler's
/// Task is cancelled too, so `Task.isCancelled` and cancellation-aware awaits
/// see it.
public final class RequestContext: Sendable {
    public let id: RPCID
    public let method: String
    /// The calling process (nil when the socket could not tell).
    public let peer: PeerCredentials?
    /// The API version the connection negotiated with `hello` (BerthAPI.version without one).
    public let apiVersion: Int
    public let logger: Logger
    let connection: ClientConnection?

    init(id: RPCID, method: String, connection: ClientConnection?, logger: Logger) {
        self.id = id
        self.method = method
        self.connection = connection
        self.peer = connection?.peer
        self.apiVersion = connection?.apiVersion ?? BerthAPI.version
        self.logger = logger
    }

    /// A context with no client behind it, for calling handlers directly (tests, internal callers).
    public static func detached(method: String, logger: Logger = Logger(level: .error)) -> RequestContext {
        RequestContext(id: .number(0), method: method, connection: nil, logger: logger)
    }

    /// True once the client went away or canceled this request.
    public var isCancelled: Bool {
        guard let connection else { return false }
        return connection.isClosed || connection.isCanceled(id)
    }

    /// Throws `canceled` when the client went away, so a long operation can stop between steps.
    public func checkCancellation() throws(BerthError) {
        if isCancelled { throw BerthError.canceled("\(method): canceled: the client went away") }
    }

    /// Sends one progress notification: the encoded value's fields, after
    /// `"request": id`. A value that is not an object is sent as `"value"`.
    /// Returns false when it could not be delivered (the client is gone, or
    /// the value cannot be encoded).
    @discardableResult
    public func progress<T: Encodable>(_ value: T) -> Bool {
        notify(BerthAPI.progressNotification, value: value)
    }

    /// Sends a notification of this request's stream (`output`, `log`,
    /// `event`, `stats`, `progress`): the encoded value's fields after
    /// `"request": id` (a value that is not an object goes as `"value"`).
    /// False when it could not be delivered.
    @discardableResult
    public func notify<T: Encodable>(_ notification: String, value: T) -> Bool {
        let v: JSONValue
        do { v = try JSONValueEncoder().encode(value) } catch {
            logger.error("\(method): cannot encode a \(notification) notification: \(error)")
            return false
        }
        var pairs: [(String, JSONValue)] = [("request", id.json)]
        if case .object(let fields) = v { pairs += fields.filter { $0.0 != "request" } } else { pairs.append(("value", v)) }
        return notify(notification, .object(pairs))
    }

    /// Receives the client's notifications that name this request
    /// (`{"request": ID, …}`: an attach's stdin, resizes), in order, on the
    /// connection's thread (keep the handler short). Those sent before the
    /// handler was set are delivered when it is.
    public func onInput(_ handler: @escaping @Sendable (_ method: String, _ params: JSONValue?) -> Void) {
        connection?.setInputHandler(id, handler)
    }

    /// Sends any notification to this request's connection (an event stream
    /// may use its own method name). False when the client is gone.
    @discardableResult
    public func notify(_ method: String, _ params: JSONValue?) -> Bool {
        guard let connection else { return false }
        return connection.send(.notification(method: method, params: params))
    }
}
