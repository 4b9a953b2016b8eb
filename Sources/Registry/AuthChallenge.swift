/// One `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge: Sendable, Hashable {
    var scheme: String
    var parameters: [String: String]

    var realm: String? { parameters["realm"] }

    /// Parses the header value (RFC 9110 auth-params, quoted strings with backslash escapes).
    /// Several challenges in one header are rare for registries; the first is taken.
    static func parse(_ header: String) -> AuthChallenge? {
        var chars = Substring(header)
        func skipSpaces() { while chars.first == " " || chars.first == "\t" { chars.removeFirst() } }
        skipSpaces()
        let scheme = chars.prefix(while: { $0 != " " && $0 != "\t" })
        guard !scheme.isEmpty else { return nil }
        chars = chars.dropFirst(scheme.count)
        var params = [String: String]()
        while true {
            skipSpaces()
            while chars.first == "," { chars.removeFirst(); skipSpaces() }
            let key = chars.prefix(while: { $0 != "=" && $0 != " " && $0 != "," })
            guard !key.isEmpty else { break }
            chars = chars.dropFirst(key.count)
            skipSpaces()
            guard chars.first == "=" else { break }
            chars.removeFirst()
            skipSpaces()
            var value = ""
            if chars.first == "\"" {
                chars.removeFirst()
                while let c = chars.first {
                    chars.removeFirst()
                    if c == "\\", let n = chars.first { value.append(n); chars.removeFirst(); continue }
                    if c == "\"" { break }
                    value.append(c)
                }
            } else {
                value = String(chars.prefix(while: { $0 != "," && $0 != " " }))
                chars = chars.dropFirst(value.count)
            }
            params[key.lowercased()] = value
        }
        return AuthChallenge(scheme: scheme.lowercased(), parameters: params)
    }
}
