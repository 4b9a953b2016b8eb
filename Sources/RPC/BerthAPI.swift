import OCI

/// The berthd API (docs/berthd-api.md): JSON-RPC 2.0 over a unix socket, the
/// shim's framing. This file holds what client and server share: the version,
/// the method and notification names; the params and results live in
/// BerthAPI+*.swift files, one per domain.
public enum BerthAPI {
    /// The API version this build speaks; `hello` negotiates it.
    public static let version = 1
    public static let minimumVersion = 1
    public static let supportedVersions = [1]
    /// Where berthd listens unless told otherwise (`--socket`, `-H`, BERTH_HOST).
    public static let defaultSocket = "/run/berth/berthd.sock"
    /// The name of the notification a long operation streams (see RequestContext).
    public static let progressNotification = "progress"
}

/// A method name. Built-in methods are below; other domains add theirs in
/// extensions (`extension BerthMethod { static let imageList: BerthMethod = "image.list" }`),
/// named `domain.verb` so that the table in `hello` reads by domain.
public struct BerthMethod: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { rawValue = name }
    public init(stringLiteral name: String) { rawValue = name }
    public var description: String { rawValue }

    /// Version negotiation: `BerthAPI.HelloParams` → `BerthAPI.HelloResult`.
    public static let hello: BerthMethod = "hello"
    /// berthd's version, API version, OS/arch: → `BerthAPI.VersionResult`.
    public static let version: BerthMethod = "version"
    /// System-wide information (`berth info`): → `BerthAPI.InfoResult`.
    public static let info: BerthMethod = "info"
}

/// Params of a method that takes none: any object (or none) is accepted.
public struct NoParams: Codable, Sendable, Equatable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: NoKeys.self) }
    private enum NoKeys: CodingKey {}
}
