import Content

/// An image reference `[registry/]path[:tag][@digest]`, parsed and normalised exactly as
/// Docker's distribution/reference does (`ParseNormalizedNamed`): `busybox` becomes
/// `docker.io/library/busybox`, `index.docker.io` becomes `docker.io`, and the first path
/// component is a registry only when it has a `.` or `:`, is `localhost`, or has capitals.
public struct Reference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host (and port): `docker.io`, `localhost:5000`, `[::1]:5000`.
    public var domain: String
    /// The repository path within the registry: `library/busybox`.
    public var path: String
    public var tag: String?
    public var digest: Digest?

    public static let dockerHub = "docker.io"
    public static let defaultTag = "latest"

    public init(domain: String, path: String, tag: String? = nil, digest: Digest? = nil) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// `domain/path`, the fully qualified repository name.
    public var name: String { domain + "/" + path }

    /// The full string: `docker.io/library/busybox:latest`, `…@sha256:…`, or both.
    public var description: String {
        var s = name
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }

    /// The name as Docker shows it: `busybox`, `user/app`, `localhost:5000/app`.
    public var familiarName: String {
        guard domain == Reference.dockerHub else { return name }
        return path.hasPrefix("library/") && path.dropFirst(8).firstIndex(of: "/") == nil ? String(path.dropFirst(8)) : path
    }

    /// `familiarName[:tag][@digest]`.
    public var familiarString: String {
        var s = familiarName
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }

    /// The same reference with `latest` added when it has neither tag nor digest (Docker's TagNameOnly).
    public var withDefaultTag: Reference {
        var r = self
        if tag == nil && digest == nil { r.tag = Reference.defaultTag }
        return r
    }

    /// What to ask the registry for: the digest when there is one (a tag beside it is ignored,
    /// as Docker does), else the tag, else `latest`.
    public var manifestIdentifier: String { digest?.description ?? tag ?? Reference.defaultTag }

    /// Parses and normalises a user-typed reference. `defaultDomain` is where names without a
    /// registry go (docker.io unless configured); `library/` is added for Docker Hub only.
    public static func parse(_ s: String, defaultDomain: String = dockerHub) throws(RegistryError) -> Reference {
        if s.utf8.count == 64 && s.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            throw .invalidReference("invalid repository name (\(s)), cannot specify 64-byte hexadecimal strings")
        }
        var (domain, remainder) = splitDomain(s, defaultDomain: defaultDomain)
        if domain == dockerHub && !remainder.contains("/") { remainder = "library/" + remainder }
        let remote = remainder.firstIndex(of: ":").map { String(remainder[..<$0]) } ?? remainder
        if remote.lowercased() != remote {
            throw .invalidReference("invalid reference format: repository name (\(remote)) must be lowercase")
        }
        return try parseQualified(domain + "/" + remainder)
    }

    /// Parses a reference that already names its registry (`Parse` in distribution/reference).
    public static func parseQualified(_ s: String) throws(RegistryError) -> Reference {
        guard let m = s.wholeMatch(of: Grammar.reference) else {
            if s.isEmpty { throw .invalidReference("invalid reference format: repository name must have at least one component") }
            if s.lowercased().wholeMatch(of: Grammar.reference) != nil {
                throw .invalidReference("invalid reference format: repository name must be lowercase")
            }
            throw .invalidReference("invalid reference format")
        }
        let name = String(m.output.1)
        if name.utf8.count > 255 { throw .invalidReference("invalid reference format: repository name must not be more than 255 characters") }
        var domain = "", path = name
        if let dm = name.wholeMatch(of: Grammar.domainAndPath), let d = dm.output.1 {
            domain = String(d)
            path = String(dm.output.2)
        }
        var digest: Digest?
        if let ds = m.output.3 {
            let text = String(ds)
            guard let d = Digest(text) else {
                let alg = text.prefix(while: { $0 != ":" })
                if alg != "sha256" && alg != "sha512" { throw .invalidReference("invalid reference format: unsupported digest algorithm") }
                throw .invalidReference("invalid reference format: invalid checksum digest length")
            }
            digest = d
        }
        guard !domain.isEmpty else { throw .invalidReference("invalid reference format: repository name must be canonical") }
        return Reference(domain: domain, path: path, tag: m.output.2.map(String.init), digest: digest)
    }

    /// docker's splitDockerDomain: the part before the first `/` is a registry when it looks like one.
    static func splitDomain(_ name: String, defaultDomain: String) -> (String, String) {
        guard let slash = name.firstIndex(of: "/") else { return (defaultDomain, name) }
        let first = String(name[..<slash]), rest = String(name[name.index(after: slash)...])
        let looksLikeDomain = first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first
        guard looksLikeDomain else { return (defaultDomain, name) }
        return (first == "index.docker.io" ? dockerHub : first, rest)
    }

    /// The grammar of distribution/reference's regexp.go, ASCII-only as Go's `\w` is.
    enum Grammar {
        static let domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
        static let host = "(?:\(domainComponent)(?:\\.\(domainComponent))*|\\[(?:[a-fA-F0-9:]+)\\])"
        static let domainAndPort = "\(host)(?::[0-9]+)?"
        static let pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
        static let remoteName = "\(pathComponent)(?:/\(pathComponent))*"
        static let tag = "[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}"
        static let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
        nonisolated(unsafe) static let reference = try! Regex("((?:\(domainAndPort)/)?\(remoteName))(?::(\(tag)))?(?:@(\(digest)))?",
                                                              as: (Substring, Substring, Substring?, Substring?).self)
        nonisolated(unsafe) static let domainAndPath = try! Regex("(?:(\(domainAndPort))/)?(\(remoteName))",
                                                                  as: (Substring, Substring?, Substring).self)
    }
}
