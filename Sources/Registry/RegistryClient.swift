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
    let tls: TLSSettings
    let authState = Mutex<AuthState>(AuthState())
    /// The scheme that works per API host (insecure hosts fall back from https to http).
    let schemes = Mutex<[String: String]>([:])

    public init(configuration: RegistryConfiguration = RegistryConfiguration(),
                credentials: (any CredentialProvider)? = nil) {
        self.configuration = configuration
        self.credentials = credentials
        transport = HTTPTransport(bufferSize: configuration.receiveBufferSize, userAgent: configuration.userAgent)
        var tls = TLSSettings()
        if !configuration.caFiles.isEmpty {
            // The system's CAs plus the configured ones, in one PEM bundle for CURLOPT_CAINFO_BLOB.
            var pem = (try? POSIXFileAccess.read("/etc/ssl/certs/ca-certificates.crt")) ?? []
            for f in configuration.caFiles {
                if let extra = try? POSIXFileAccess.read(f) { pem.append(10); pem += extra; pem.append(10) }
            }
            tls.caBundle = pem
        }
        self.tls = tls
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
            var tls = self.tls
            if configuration.isInsecure(host) { tls.verify = false }
            let response: HTTPResponse
            do {
                response = try transport.perform(HTTPRequest(method: method, url: url, headers: all, body: body), tls: tls,
                                                 head: head, sink: sink, onUpload: onUpload, cancelled: cancelled)
            } catch {
                if let sinkError = error.sinkError {
                    if let e = sinkError as? RegistryError { throw e }
                    if let e = sinkError as? ContentError { throw .content(e) }
                    throw .transport(url: url, message: "\(sinkError)")
                }
                // An insecure registry that does not speak TLS: fall back to plain HTTP once.
                if url.hasPrefix("https://"), configuration.isInsecure(host),
                   schemes.withLock({ $0[host] }) == nil {
                    schemes.withLock { $0[host] = "http" }
                    continue
                }
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
        case 401: return .unauthorized("\(what): unauthorized: " + (message.isEmpty ? "authentication required" : message))
        case 403: return .denied("\(what): denied: " + (message.isEmpty ? "requested access to the resource is denied" : message))
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
