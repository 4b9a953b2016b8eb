/// A user name and password (or identity token as password) for one registry.
public struct Credentials: Sendable, Hashable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// Where the client gets credentials for a registry domain (`docker.io`, `localhost:5000`).
public protocol CredentialProvider: Sendable {
    func credentials(for registry: String) -> Credentials?
}

/// Fixed credentials, per registry domain: for tests and for a `--username/--password` pull.
public struct StaticCredentials: CredentialProvider {
    public var byRegistry: [String: Credentials]
    public init(_ byRegistry: [String: Credentials]) { self.byRegistry = byRegistry }
    public func credentials(for registry: String) -> Credentials? { byRegistry[registry] }
}
