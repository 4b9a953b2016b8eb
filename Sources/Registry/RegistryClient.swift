import FoundationEssentials
import Content
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A client of the OCI distribution API (and Docker's registry v2) over libcurl: resolve,
/// fetch and push manifests and blobs, with auth, retries, redirects and Range resume.
///
/// Every network operation runs on a thread of its own (`BlockingThread`), never on Swift's
/// cooperative pool; the async methods just await it.
public final class RegistryClient: Sendable {
    public let configuration: RegistryConfiguration
    let credentials: (any CredentialProvider)?
    let transport: HTTPTransport
    /// The system's CAs plus `caFiles` as one PEM bundle, read on first use.
    let baseCABundle = Mutex<[UInt8]?>(nil)
    let authState = Mutex<AuthState>(AuthState())
    /// The scheme that works per API host (insecure hosts fall back from https to http;
    /// mirrors use their URL's).
    let schemes: Mutex<[String: String]>

    public init(configuration: RegistryConfiguration = RegistryConfiguration(),
                credentials: (any CredentialProvider)? = nil) {
        self.configuration = configuration
        self.credentials = credentials
        transport = HTTPTransport(bufferSize: configuration.receiveBufferSize, userAgent: configuration.userAgent)
        var known: [String: String] = [:]
        for m in configuration.registryMirrors {
            if let (scheme, host) = RegistryConfiguration.parseMirror(m) { known[host] = scheme }
        }
        schemes = Mutex(known)
    }

    static let systemCABundle = "/etc/ssl/certs/ca-certificates.crt"

    /// How to check `host`'s certificate: not at all for an insecure registry; else the system's
    /// CAs, plus `caFiles`, plus the `*.crt` files of `certsDirectory/host/` (Docker's certs.d
    /// convention, read at each request as Docker does, so a CA added there works without a
    /// restart), as one PEM bundle when there is anything beyond the system's.
    func tlsSettings(for host: String) -> TLSSettings {
        var tls = TLSSettings()
        if configuration.isInsecure(host) {
            tls.verify = false
            return tls
        }
        let perHost = configuration.certsDirectory.map { RegistryClient.certificateFiles(in: $0 + "/" + host) } ?? []
        guard !configuration.caFiles.isEmpty || !perHost.isEmpty else { return tls }
        var pem = baseCABundle.withLock { cached -> [UInt8] in
            if let cached { return cached }
            var pem = (try? POSIXFileAccess.read(RegistryClient.systemCABundle)) ?? []
            for f in configuration.caFiles {
                if let bytes = try? POSIXFileAccess.read(f) { pem.append(10); pem += bytes; pem.append(10) }
            }
            cached = pem
            return pem
        }
        for f in perHost {
            if let bytes = try? POSIXFileAccess.read(f) { pem.append(10); pem += bytes; pem.append(10) }
        }
        tls.caBundle = pem
        return tls
    }

    /// The CA files of one certs.d directory: `*.crt`, sorted (Docker's rule; `*.cert`/`*.key`
    /// client pairs are not used).
    static func certificateFiles(in dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name.hasSuffix(".crt") { names.append(dir + "/" + name) }
        }
        return names.sorted()
    }

    /// The one-line error for a TLS failure retrying cannot fix, or nil.
    func tlsFailure(host: String, code: Int32, message: String) -> RegistryError? {
        if HTTPTransport.isCertificateFailure(code) {
            var hint = "trust its CA with \"caFiles\" in the daemon configuration"
            if let dir = configuration.certsDirectory { hint += " or in \(dir)/\(host)/ca.crt" }
            return .tls(host: host, message: "tls: failed to verify certificate: \(message) (\(hint))")
        }
        if HTTPTransport.isPlainHTTPServer(code, message) {
            return .tls(host: host, message: "http: server gave HTTP response to HTTPS client")
        }
        return nil
    }

    /// Parses a user-typed reference with this client's default registry.
    public func parse(_ reference: String) throws(RegistryError) -> Reference {
        try Reference.parse(reference, defaultDomain: configuration.defaultRegistry)
    }

    // MARK: requests

    static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    func baseURL(for domain: String) -> String {
        let host = configuration.apiHost(for: domain)
        let scheme = schemes.withLock { $0[host] } ?? (configuration.isInsecure(host) && isLoopback(host) ? "http" : "https")
        return scheme + "://" + host
    }

    private func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().prefix(while: { $0 != "]" })) : String(host.prefix(while: { $0 != ":" }))
        return bare == "localhost" || bare.hasPrefix("127.") || bare == "::1"
    }

    /// Sends one request to `domain`: adds authorization, answers a 401 challenge once, retries
    /// 429/5xx answers (and, when `retryTransport`, network errors) with back-off, and follows
    /// redirects. `pathOrURL` is a `/v2/…` path or an absolute URL (an upload `Location`).
    func send(_ method: String, domain: String, _ pathOrURL: String, scopes: [String], headers: [String] = [],
              body: HTTPRequest.Body = .none, retryTransport: Bool = true,
              head: HTTPTransport.Head? = nil, sink: HTTPTransport.Sink? = nil,
              onUpload: ((Int64) -> Void)? = nil, cancelled: CancellationFlag? = nil) throws(RegistryError) -> HTTPResponse {
        var attempt = 1
        var answeredChallenge = false
        while true {
            let url = pathOrURL.hasPrefix("/") ? baseURL(for: domain) + pathOrURL : pathOrURL
            var all = headers
            if let a = try authorization(domain: domain, scopes: scopes) { all.append("Authorization: " + a) }
            let host = configuration.apiHost(for: domain)
            let tls = tlsSettings(for: host)
            let response: HTTPResponse
            do {
                response = try transport.perform(HTTPRequest(method: method, url: url, headers: all, body: body), tls: tls,
                                                 head: head, sink: sink, onUpload: onUpload, cancelled: cancelled)
            } catch {
                if let sinkError = error.sinkError {
                    if let e = sinkError as? RegistryError { throw e }
                    if let e = sinkError as? ContentError { throw .content(e) }
                    // Not the network: whoever consumes the bytes stopped taking them.
                    throw .consumer("\(sinkError)")
                }
                // An insecure registry that does not speak TLS: fall back to plain HTTP once.
                if url.hasPrefix("https://"), configuration.isInsecure(host),
                   schemes.withLock({ $0[host] }) == nil {
                    schemes.withLock { $0[host] = "http" }
                    continue
                }
                if let e = tlsFailure(host: host, code: error.code, message: error.message) { throw e }
                if retryTransport, HTTPTransport.isTransient(error.code), attempt < configuration.maxAttempts {
                    backoff(attempt)
                    attempt += 1
                    continue
                }
                throw .transport(url: url, message: error.message)
            }
            if response.status == 401, !answeredChallenge,
               let header = response.header("www-authenticate"), let challenge = AuthChallenge.parse(header) {
                answeredChallenge = true
                learn(challenge, domain: domain)
                continue
            }
            if [408, 429, 500, 502, 503, 504].contains(response.status), attempt < configuration.maxAttempts {
                backoff(attempt)
                attempt += 1
                continue
            }
            return response
        }
    }

    /// Sleeps before attempt `attempt + 1`: initialBackoff · 2^(attempt−1), capped.
    func backoff(_ attempt: Int) {
        var delay = configuration.initialBackoff
        for _ in 1..<max(attempt, 1) { delay *= 2 }
        delay = min(delay, configuration.maxBackoff)
        usleep(useconds_t(delay * 1_000_000))
    }

    /// The error a non-2xx answer stands for, with the registry's own error code and message.
    func failure(_ response: HTTPResponse, what: String) -> RegistryError {
        struct Body: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }
            var errors: [Item]?
        }
        var message = ""
        if let b = try? JSONDecoder().decode(Body.self, from: Data(response.body)), let items = b.errors, !items.isEmpty {
            message = items.map { i in
                let code = String((i.code ?? "").lowercased().map { $0 == "_" ? " " : $0 })
                return [code, i.message ?? ""].filter { !$0.isEmpty }.joined(separator: ": ")
            }.joined(separator: "; ")
        } else if !response.body.isEmpty, response.body.count < 512 {
            message = String(decoding: response.body, as: UTF8.self).filter { $0 != "\n" }
        }
        switch response.status {
        case 404: return .notFound("\(what) not found" + (message.isEmpty ? "" : ": " + message))
        // The registry's own code usually says "unauthorized:" or "denied:" already.
        case 401: return .unauthorized("\(what): " + (message.isEmpty ? "unauthorized: authentication required"
                                                      : message.hasPrefix("unauthorized") ? message : "unauthorized: " + message))
        case 403: return .denied("\(what): " + (message.isEmpty ? "denied: requested access to the resource is denied"
                                                : message.hasPrefix("denied") ? message : "denied: " + message))
        default: return .http(status: response.status, url: response.url, message: message)
        }
    }

    /// Runs blocking work on its own thread; a cancelled task sets the flag the transfer polls.
    func offPool<T: Sendable>(_ body: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await BlockingThread.run { try body(flag) }
        } onCancel: {
            flag.set()
        }
    }
}

extension String {
    /// Percent-encoding for a query value (RFC 3986 unreserved characters kept).
    var queryEscaped: String {
        var out = ""
        for b in utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}
