import FoundationEssentials
import Content
#if canImport(Glibc)
import Glibc
#endif

/// What the client has learnt about a registry's auth: the challenge per domain and bearer
/// tokens cached per (domain, scopes) until they expire.
struct AuthState: Sendable {
    var challenges: [String: AuthChallenge] = [:]
    var tokens: [String: (token: String, expires: Double)] = [:]
}

extension RegistryClient {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func learn(_ challenge: AuthChallenge, domain: String) {
        authState.withLock { s in
            // A new challenge (a scope we lacked) invalidates nothing else; just remember it.
            s.challenges[domain] = challenge
        }
    }

    /// The `Authorization` header value for a request to `domain` needing `scopes`, once the
    /// registry has challenged us: Basic with the stored credentials, or a Bearer token from
    /// the challenge's realm (fetched once per scope set and cached until it expires).
    func authorization(domain: String, scopes: [String]) throws(RegistryError) -> String? {
        guard let challenge = authState.withLock({ $0.challenges[domain] }) else { return nil }
        let creds = credentials?.credentials(for: domain)
        switch challenge.scheme {
        case "basic":
            guard let creds else { return nil }
            return "Basic " + Data((creds.username + ":" + creds.password).utf8).base64EncodedString()
        case "bearer":
            var wanted = scopes
            if let s = challenge.parameters["scope"] {
                for part in s.split(separator: " ") where !wanted.contains(String(part)) { wanted.append(String(part)) }
            }
            wanted.sort()
            let key = domain + " " + wanted.joined(separator: " ")
            let now = RegistryClient.now()
            if let cached = authState.withLock({ $0.tokens[key] }), cached.expires > now { return "Bearer " + cached.token }
            let (token, lifetime) = try fetchToken(challenge, scopes: wanted, credentials: creds, domain: domain)
            // Renew a little before the registry's deadline.
            authState.withLock { $0.tokens[key] = (token, now + max(lifetime - 10, 1)) }
            return "Bearer " + token
        default:
            return nil
        }
    }

    /// GET realm?service=…&scope=… (Basic credentials when we have them), per the token spec.
    private func fetchToken(_ challenge: AuthChallenge, scopes: [String], credentials: Credentials?,
                            domain: String) throws(RegistryError) -> (String, Double) {
        guard let realm = challenge.realm, !realm.isEmpty else {
            throw .invalidResponse("bearer challenge from \(domain) has no realm")
        }
        var query = [String]()
        if let service = challenge.parameters["service"] { query.append("service=" + service.queryEscaped) }
        for s in scopes { query.append("scope=" + s.queryEscaped) }
        let url = realm + (query.isEmpty ? "" : (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
        var headers = [String]()
        if let c = credentials {
            headers.append("Authorization: Basic " + Data((c.username + ":" + c.password).utf8).base64EncodedString())
        }
        let realmHost = realm.split(separator: "/").dropFirst(1).first.map(String.init) ?? ""
        let tls = tlsSettings(for: realmHost)
        var attempt = 1
        var response: HTTPResponse
        while true {
            do {
                response = try transport.perform(HTTPRequest(method: "GET", url: url, headers: headers), tls: tls)
            } catch {
                if let e = tlsFailure(host: realmHost, code: error.code, message: error.message) { throw e }
                if HTTPTransport.isTransient(error.code), attempt < configuration.maxAttempts {
                    backoff(attempt); attempt += 1; continue
                }
                throw .transport(url: url, message: error.message)
            }
            if response.status >= 500 && attempt < configuration.maxAttempts { backoff(attempt); attempt += 1; continue }
            break
        }
        if response.status == 401 || response.status == 403 {
            throw .unauthorized(credentials == nil
                ? "unauthorized: authentication required by \(domain) (no credentials; log in first)"
                : "unauthorized: incorrect username or password for \(domain)")
        }
        guard response.status == 200 else { throw failure(response, what: "token from \(realm)") }
        struct TokenResponse: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Double?
        }
        guard let t = try? JSONDecoder().decode(TokenResponse.self, from: Data(response.body)),
              let token = t.token ?? t.access_token, !token.isEmpty else {
            throw .invalidResponse("token server \(realm) sent no token")
        }
        // The token spec's default lifetime is 60 seconds.
        return (token, t.expires_in ?? 60)
    }

    /// Checks credentials against a registry (`berth login`): GET /v2/ must end in 200. The
    /// errors are Docker's: "login attempt to URL failed with status: 401 Unauthorized" when the
    /// registry itself refuses them (basic auth), `Get "URL": unauthorized: incorrect username
    /// or password` when its token server does.
    public func login(domain: String) async throws {
        try await offPool { flag in
            let r: HTTPResponse
            do {
                r = try self.send("GET", domain: domain, "/v2/", scopes: [], cancelled: flag)
            } catch {
                if let e = error as? RegistryError, case .unauthorized = e {
                    throw RegistryError.unauthorized("Get \"\(self.baseURL(for: domain))/v2/\": unauthorized: incorrect username or password")
                }
                throw error
            }
            guard r.status == 200 else {
                let message = "login attempt to \(r.url) failed with status: \(r.status) \(HTTPResponse.reason(r.status))"
                throw r.status == 401 ? RegistryError.unauthorized(message) : r.status == 403 ? .denied(message) : .http(status: r.status, url: r.url, message: message)
            }
        }
    }
}

extension HTTPResponse {
    /// The reason phrase of common statuses, for messages worded as Go's http.StatusText.
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return ""
        }
    }
}
