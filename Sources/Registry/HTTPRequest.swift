/// One HTTP request as the registry client makes it.
struct HTTPRequest: Sendable {
    enum Body: Sendable {
        case none
        case bytes([UInt8])
        /// `length` bytes of an open file from `offset` (a blob being pushed); the fd stays the caller's.
        case file(fd: Int32, offset: Int64, length: Int64)

        var length: Int64 {
            switch self {
            case .none: return 0
            case .bytes(let b): return Int64(b.count)
            case .file(_, _, let n): return n
            }
        }
    }

    var method: String
    var url: String
    /// `Name: value` lines.
    var headers: [String]
    var body: Body = .none

    init(method: String, url: String, headers: [String] = [], body: Body = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The final response of a request (after redirects were followed).
struct HTTPResponse: Sendable {
    var status: Int
    /// Header names lowercased, in the order received.
    var headers: [(name: String, value: String)]
    /// The body when it was not streamed to a sink, or the error body of a non-2xx answer.
    var body: [UInt8]
    /// The URL that answered, after redirects: relative `Location`s resolve against it.
    var url: String

    func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last(where: { $0.name == n })?.value
    }

    func headerValues(_ name: String) -> [String] {
        let n = name.lowercased()
        return headers.filter { $0.name == n }.map(\.value)
    }
}

/// Knobs for one transfer that the transport does not decide itself.
struct TLSSettings: Sendable {
    var verify = true
    /// PEM of the system CAs plus the configured ones, when extra CA files were given.
    var caBundle: [UInt8]?
}
