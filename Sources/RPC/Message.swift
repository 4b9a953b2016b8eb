import OCI

/// A JSON-RPC 2.0 request id: a number or a string (null only in error
/// responses to requests whose id could not be read).
public enum RPCID: Sendable, Equatable, Hashable {
    case number(Int64)
    case string(String)

    public var json: JSONValue {
        switch self {
        case .number(let n): return .int(n)
        case .string(let s): return .string(s)
        }
    }

    init?(_ v: JSONValue) {
        switch v {
        case .number(let n): guard let i = Int64(n) else { return nil }; self = .number(i)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }
}

/// A JSON-RPC error object. Codes: the five of the JSON-RPC 2.0 specification,
/// plus berth-shim's own in -32000...-32099 (docs/shim-protocol.md).
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(_ code: Int, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// The runtime (berth-runtime) failed; the message is its error.
    public static let runtimeFailed = -32000
    /// The client asked for a protocol version this shim does not speak.
    public static let unsupportedVersion = -32001
    /// No container in this shim (create was not called, or it was deleted).
    public static let notFound = -32002
    /// The container is not in a state that allows the call (start twice, delete while running).
    public static let failedPrecondition = -32003
    /// A method of the protocol that this shim does not implement yet.
    public static let notImplemented = -32004
    /// The shim itself failed (a file, a pipe, a fork).
    public static let shimFailed = -32005

    public var description: String { "\(message) (code \(code))" }

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("code", .int(code)), ("message", .string(message))]
        if let data { pairs.append(("data", data)) }
        return .object(pairs)
    }
}

/// One JSON-RPC 2.0 message. Batches are not used by this protocol and are
/// refused with invalidRequest.
public enum RPCMessage: Sendable, Equatable {
    case request(id: RPCID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    case result(id: RPCID, result: JSONValue)
    case error(id: RPCID?, error: RPCError)

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0")]
        switch self {
        case let .request(id, method, params):
            pairs.append(("id", id.json))
            pairs.append(("method", .string(method)))
            if let params { pairs.append(("params", params)) }
        case let .notification(method, params):
            pairs.append(("method", .string(method)))
            if let params { pairs.append(("params", params)) }
        case let .result(id, result):
            pairs.append(("id", id.json))
            pairs.append(("result", result))
        case let .error(id, error):
            pairs.append(("id", id?.json ?? .null))
            pairs.append(("error", error.json))
        }
        return .object(pairs)
    }

    /// The message as one frame: compact JSON (which never contains a raw
    /// newline) followed by "\n".
    public var frame: [UInt8] { Array((JSONWriter.write(json) + "\n").utf8) }

    /// Parses one frame (without its newline). Errors are the JSON-RPC error
    /// to answer with (id null): parseError or invalidRequest.
    public static func parse(_ bytes: [UInt8]) throws(RPCError) -> RPCMessage {
        let v: JSONValue
        do { v = try JSONParser.parse(bytes) } catch { throw RPCError(RPCError.parseError, "parse error: \(error.message)") }
        return try from(v)
    }

    public static func from(_ v: JSONValue) throws(RPCError) -> RPCMessage {
        guard case .object = v else { throw RPCError(RPCError.invalidRequest, "invalid request: a message must be a JSON object") }
        guard v["jsonrpc"]?.stringValue == "2.0" else { throw RPCError(RPCError.invalidRequest, "invalid request: \"jsonrpc\" must be \"2.0\"") }
        let params = v["params"]
        if let p = params {
            switch p {
            case .object, .array: break
            default: throw RPCError(RPCError.invalidRequest, "invalid request: \"params\" must be an object or an array")
            }
        }
        if let m = v["method"] {
            guard let method = m.stringValue else { throw RPCError(RPCError.invalidRequest, "invalid request: \"method\" must be a string") }
            guard let rawID = v["id"] else { return .notification(method: method, params: params) }
            guard let id = RPCID(rawID) else { throw RPCError(RPCError.invalidRequest, "invalid request: \"id\" must be an integer or a string") }
            return .request(id: id, method: method, params: params)
        }
        let id = v["id"].flatMap(RPCID.init)
        if let r = v["result"], v["error"] == nil {
            guard let id else { throw RPCError(RPCError.invalidRequest, "invalid response: \"id\" must be an integer or a string") }
            return .result(id: id, result: r)
        }
        if let e = v["error"], v["result"] == nil {
            guard let code = e["code"]?.int64Value, let message = e["message"]?.stringValue else {
                throw RPCError(RPCError.invalidRequest, "invalid response: \"error\" needs an integer code and a string message")
            }
            return .error(id: id, error: RPCError(Int(code), message, data: e["data"]))
        }
        throw RPCError(RPCError.invalidRequest, "invalid request: neither a method nor exactly one of result and error")
    }
}

/// Newline-delimited framing over a byte stream: feed what read(2) returned,
/// take complete lines. A line longer than `maxLine` is an error (the peer is
/// broken or hostile); the connection should then be closed.
public struct LineFramer: Sendable {
    public static let defaultMaxLine = 1 << 20
    public let maxLine: Int
    private var buffer: [UInt8] = []
    private var scanned = 0

    public init(maxLine: Int = LineFramer.defaultMaxLine) { self.maxLine = maxLine }

    public var pendingBytes: Int { buffer.count }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 { buffer.append(contentsOf: bytes) }

    /// The next complete line without its "\n" (a trailing "\r" is dropped
    /// too), nil when none is complete yet. Empty lines are skipped.
    public mutating func next() throws(RPCError) -> [UInt8]? {
        while true {
            guard let nl = buffer[scanned...].firstIndex(of: 0x0A) else {
                scanned = buffer.count
                if buffer.count > maxLine { throw RPCError(RPCError.invalidRequest, "message longer than \(maxLine) bytes") }
                return nil
            }
            var line = Array(buffer[..<nl])
            buffer.removeSubrange(...nl)
            scanned = 0
            if line.last == 0x0D { line.removeLast() }
            if line.count > maxLine { throw RPCError(RPCError.invalidRequest, "message longer than \(maxLine) bytes") }
            if line.isEmpty { continue }
            return line
        }
    }
}
