import Content

/// Everything that can go wrong talking to a registry, one line each, naming what is wrong.
public enum RegistryError: Error, Sendable, CustomStringConvertible {
    /// A reference that does not parse; the message is Docker's wording.
    case invalidReference(String)
    case notFound(String)
    case unauthorized(String)
    case denied(String)
    /// The registry answered with an unexpected status; `message` carries its error body.
    case http(status: Int, url: String, message: String)
    /// The transfer itself failed (connection refused, reset, TLS, timeout).
    case transport(url: String, message: String)
    /// TLS with the registry failed for a reason retrying cannot fix (an untrusted or wrong
    /// certificate, a server that speaks plain HTTP); `message` says which and what to do.
    case tls(host: String, message: String)
    case content(ContentError)
    /// The consumer of a download gave up (the layer's unpack failed): the transfer stops,
    /// and is not retried as a network failure would be.
    case consumer(String)
    case invalidResponse(String)
    case noMatchingPlatform(platform: String, available: [String])
    case cancelled

    public var description: String {
        switch self {
        case .invalidReference(let m): return m
        case .notFound(let m): return m
        case .unauthorized(let m): return m
        case .denied(let m): return m
        case .http(let s, let u, let m): return "\(u): HTTP \(s)" + (m.isEmpty ? "" : ": " + m)
        case .transport(let u, let m): return "\(u): \(m)"
        case .tls(let h, let m): return "\(h): \(m)"
        case .content(let e): return e.description
        case .consumer(let m): return m
        case .invalidResponse(let m): return "invalid registry response: \(m)"
        case .noMatchingPlatform(let p, let a):
            return "no matching manifest for \(p) in the manifest list entries" + (a.isEmpty ? "" : " (available: \(a.joined(separator: ", ")))")
        case .cancelled: return "cancelled"
        }
    }
}
