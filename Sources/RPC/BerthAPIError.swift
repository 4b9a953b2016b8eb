import OCI

/// An error of the berthd API, on both sides of the socket. Handlers in berthd
/// throw it (`throw BerthError.notFound("No such image: busybox:latest")`); the
/// server writes it as a JSON-RPC error object; BerthClient throws it back.
/// `fromDaemon` tells the CLI whether berthd answered with it ("Error response
/// from daemon: …") or the client failed on its own (cannot connect, lost
/// connection).
public struct BerthError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var data: JSONValue?
    public var fromDaemon: Bool

    public init(_ code: Code, _ message: String, data: JSONValue? = nil, fromDaemon: Bool = true) {
        self.code = code
        self.message = message
        self.data = data
        self.fromDaemon = fromDaemon
    }

    public init(_ rpc: RPCError, fromDaemon: Bool = true) {
        self.init(Code(rawValue: rpc.code), rpc.message, data: rpc.data, fromDaemon: fromDaemon)
    }

    public var rpc: RPCError { RPCError(code.rawValue, message, data: data) }
    public var description: String { message }

    /// The error codes (docs/berthd-api.md, "Errors"). The first five are
    /// JSON-RPC 2.0's; berthd's own are in -32000...-32099, where the four the
    /// shim also has (unsupportedVersion, notFound, failedPrecondition,
    /// notImplemented) keep the shim's numbers.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        public static let parseError = Code(rawValue: -32700)
        public static let invalidRequest = Code(rawValue: -32600)
        public static let methodNotFound = Code(rawValue: -32601)
        public static let invalidParams = Code(rawValue: -32602)
        public static let internalJSONRPC = Code(rawValue: -32603)

        /// berthd failed in a way the caller cannot fix (a bug, an I/O error).
        public static let `internal` = Code(rawValue: -32000)
        /// `hello` asked for an API version this berthd does not speak; `data.supported`.
        public static let unsupportedVersion = Code(rawValue: -32001)
        /// The named object (image, container, blob, …) does not exist.
        public static let notFound = Code(rawValue: -32002)
        /// The object is not in a state that allows the call (remove an image in use).
        public static let failedPrecondition = Code(rawValue: -32003)
        /// The method exists in the API but this build does not serve it yet.
        public static let notImplemented = Code(rawValue: -32004)
        /// The name or object already exists, or a concurrent change won.
        public static let conflict = Code(rawValue: -32005)
        /// A param is well-formed JSON of the right type but its value is wrong (a bad reference).
        public static let invalidArgument = Code(rawValue: -32006)
        /// Something berthd needs is unreachable (a registry), or berthd is shutting down; retrying may help.
        public static let unavailable = Code(rawValue: -32007)
        /// A registry refused the credentials, or none were given where needed.
        public static let unauthorized = Code(rawValue: -32008)
        /// The caller may not do this (file permissions, a read-only setting).
        public static let permissionDenied = Code(rawValue: -32009)
        /// The operation was canceled (the client went away, or berthd is stopping).
        public static let canceled = Code(rawValue: -32010)
        /// Out of disk space, or another limit was reached.
        public static let resourceExhausted = Code(rawValue: -32011)

        public static let all: [Code] = [
            .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalJSONRPC,
            .internal, .unsupportedVersion, .notFound, .failedPrecondition, .notImplemented, .conflict,
            .invalidArgument, .unavailable, .unauthorized, .permissionDenied, .canceled, .resourceExhausted,
        ]

        /// A name for logs and docs.
        public var name: String {
            switch self {
            case .parseError: return "parseError"
            case .invalidRequest: return "invalidRequest"
            case .methodNotFound: return "methodNotFound"
            case .invalidParams: return "invalidParams"
            case .internalJSONRPC: return "internalJSONRPC"
            case .internal: return "internal"
            case .unsupportedVersion: return "unsupportedVersion"
            case .notFound: return "notFound"
            case .failedPrecondition: return "failedPrecondition"
            case .notImplemented: return "notImplemented"
            case .conflict: return "conflict"
            case .invalidArgument: return "invalidArgument"
            case .unavailable: return "unavailable"
            case .unauthorized: return "unauthorized"
            case .permissionDenied: return "permissionDenied"
            case .canceled: return "canceled"
            case .resourceExhausted: return "resourceExhausted"
            default: return "error \(rawValue)"
            }
        }
        public var description: String { name }
    }

    public static func `internal`(_ m: String) -> BerthError { BerthError(.internal, m) }
    public static func notFound(_ m: String) -> BerthError { BerthError(.notFound, m) }
    public static func failedPrecondition(_ m: String) -> BerthError { BerthError(.failedPrecondition, m) }
    public static func notImplemented(_ m: String) -> BerthError { BerthError(.notImplemented, m) }
    public static func conflict(_ m: String) -> BerthError { BerthError(.conflict, m) }
    public static func invalidArgument(_ m: String) -> BerthError { BerthError(.invalidArgument, m) }
    public static func invalidParams(_ m: String) -> BerthError { BerthError(.invalidParams, m) }
    public static func unavailable(_ m: String) -> BerthError { BerthError(.unavailable, m) }
    public static func unauthorized(_ m: String) -> BerthError { BerthError(.unauthorized, m) }
    public static func permissionDenied(_ m: String) -> BerthError { BerthError(.permissionDenied, m) }
    public static func canceled(_ m: String) -> BerthError { BerthError(.canceled, m) }
    public static func resourceExhausted(_ m: String) -> BerthError { BerthError(.resourceExhausted, m) }
}
