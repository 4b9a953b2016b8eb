import Content
import FoundationEssentials
import Registry
import RPC

extension ImageService {
    /// Pushes the image named `name` to its registry, Docker's lines as progress:
    /// "The push refers to repository [NAME]", per layer Preparing / Pushing /
    /// Pushed / Layer already exists / Mounted from, then "TAG: digest: D size: N".
    public func push(_ name: String, credentials: (any CredentialProvider)?,
                     progress: @escaping @Sendable (BerthAPI.PullProgress) -> Void) async throws -> BerthAPI.PushResult {
        let ref = try parse(name)
        guard let record = try images.get(name: Self.recordName(ref)) else {
            throw BerthError(.notFound, "An image does not exist locally with the tag: \(ref.familiarName)")
        }
        let client = credentials.map { RegistryClient(configuration: registryConfiguration, credentials: $0) } ?? registry
        progress(BerthAPI.PullProgress(status: "The push refers to repository [\(ref.name)]"))
        let report: ProgressHandler = { p in
            var status = p.state.rawValue
            if p.state == .mounted, let from = p.detail { status += " " + from }
            progress(BerthAPI.PullProgress(id: p.descriptor.digest.short, status: status,
                               current: p.state == .pushing ? p.current : nil, total: p.state == .pushing ? p.total : nil))
        }
        let pushed: Descriptor
        do { pushed = try await client.push(record.target, from: content, to: ref, progress: report) }
        catch let e as RegistryError { throw Self.apiError(e, ref) }
        let tag = ref.tag ?? Reference.defaultTag
        progress(BerthAPI.PullProgress(status: "\(tag): digest: \(pushed.digest) size: \(pushed.size)"))
        return BerthAPI.PushResult(tag: tag, digest: pushed.digest.description, size: pushed.size)
    }

    /// `berth login`: the registry must accept the credentials (GET /v2/).
    public func login(_ p: BerthAPI.LoginParams) async throws -> BerthAPI.LoginResult {
        let server = p.server.map { s -> String in
            var d = s
            for prefix in ["https://", "http://"] where d.hasPrefix(prefix) { d = String(d.dropFirst(prefix.count)) }
            if let slash = d.firstIndex(of: "/") { d = String(d[..<slash]) }
            return d == "index.docker.io" || d == "registry-1.docker.io" ? Reference.dockerHub : d
        } ?? Reference.dockerHub
        let creds = StaticCredentials([server: Credentials(username: p.username, password: p.password)])
        let client = RegistryClient(configuration: registryConfiguration, credentials: creds)
        do { try await client.login(domain: server) } catch let e as RegistryError {
            switch e {
            case .unauthorized(let m), .denied(let m): throw BerthError(.unauthorized, m)
            case .http(_, _, let m) where m.hasPrefix("login attempt"): throw BerthError(.unavailable, m)
            default: throw Self.apiError(e, try parse(server + "/x"))
            }
        }
        return BerthAPI.LoginResult(server: server, status: "Login Succeeded")
    }
}
