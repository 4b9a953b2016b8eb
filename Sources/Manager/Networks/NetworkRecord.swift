import FoundationEssentials
import Network

/// One network as berthd keeps it (metadata.db, table `networks`).
public struct NetworkRecord: Codable, Sendable, Equatable {
    /// 64 hex characters.
    public var id: String
    public var name: String
    /// "bridge", or "host" / "null" for the predefined `host` and `none`.
    public var driver: String
    /// Unix nanoseconds.
    public var created: Int64
    /// The bridge interface ("berth0", "br-<12 hex of the id>"); empty for host and none.
    public var bridge: String
    public var subnet: String
    public var gateway: String
    public var `internal`: Bool
    public var labels: [String: String]
    /// bridge, host, none: made by berthd, never removed.
    public var predefined: Bool

    public var shortID: String { String(id.prefix(12)) }
    public var isBridge: Bool { driver == "bridge" }
}

/// A container's place on one network: what was asked (create's
/// NetworkingConfig, connect) and, while the container runs, what it got.
public struct ContainerEndpoint: Codable, Sendable, Equatable {
    public var networkID: String
    public var aliases: [String]
    /// `--ip`: the address asked for.
    public var requestedIPv4: String?
    // While the container runs:
    public var endpointID: String?
    /// "eth0", "eth1"… inside the container.
    public var ifname: String?
    public var ipAddress: String?
    public var prefixLength: Int?
    public var gateway: String?
    public var macAddress: String?

    public init(networkID: String, aliases: [String] = [], requestedIPv4: String? = nil) {
        self.networkID = networkID; self.aliases = aliases; self.requestedIPv4 = requestedIPv4
    }

    public var attached: Bool { ipAddress != nil }

    /// Forgets what the container got (at its exit).
    mutating func detach() {
        endpointID = nil; ifname = nil; ipAddress = nil; prefixLength = nil; gateway = nil; macAddress = nil
    }
}
