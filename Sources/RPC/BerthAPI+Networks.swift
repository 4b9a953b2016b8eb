// The network methods (docs/berthd-api.md, Networks). Objects are Docker's
// (PascalCase) so that `network inspect` and `--format` read as with Docker.

extension BerthMethod {
    /// `NetworkCreateParams` → `NetworkCreateResult`.
    public static let networkCreate: BerthMethod = "network.create"
    /// `NetworkListParams` → `[NetworkInspect]`.
    public static let networkList: BerthMethod = "network.list"
    /// `NetworkRef` → `NetworkInspect`.
    public static let networkInspect: BerthMethod = "network.inspect"
    /// `NetworkRef` → `{}`; refused while a container is connected.
    public static let networkRemove: BerthMethod = "network.remove"
    /// `NetworkListParams` (filters) → `NetworkPruneResult`: every unused user-defined network.
    public static let networkPrune: BerthMethod = "network.prune"
    /// `NetworkConnectParams` → `{}`.
    public static let networkConnect: BerthMethod = "network.connect"
    /// `NetworkDisconnectParams` → `{}`.
    public static let networkDisconnect: BerthMethod = "network.disconnect"
}

extension BerthAPI {
    public struct NetworkCreateParams: Codable, Sendable, Equatable {
        public var name: String
        /// "bridge" (the only driver).
        public var driver: String?
        /// "172.30.0.0/16"; chosen from the free ranges when absent.
        public var subnet: String?
        /// The bridge's address; the subnet's first address when absent.
        public var gateway: String?
        public var `internal`: Bool?
        public var labels: [String: String]?
        public init(name: String, driver: String? = nil, subnet: String? = nil, gateway: String? = nil,
                    internal isInternal: Bool? = nil, labels: [String: String]? = nil) {
            self.name = name; self.driver = driver; self.subnet = subnet; self.gateway = gateway
            self.internal = isInternal; self.labels = labels
        }
    }

    public struct NetworkCreateResult: Codable, Sendable, Equatable {
        public var id: String
        public var warning: String
        public init(id: String, warning: String = "") { self.id = id; self.warning = warning }
        enum CodingKeys: String, CodingKey { case id = "Id", warning = "Warning" }
    }

    /// A network: its full id, a unique prefix of it, or its name.
    public struct NetworkRef: Codable, Sendable, Equatable {
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct NetworkListParams: Codable, Sendable, Equatable {
        /// name, id, label (key or key=value), driver, type (builtin/custom), dangling (true/false); prune: label, until.
        public var filters: [String: [String]]?
        public init(filters: [String: [String]]? = nil) { self.filters = filters }
    }

    public struct NetworkPruneResult: Codable, Sendable, Equatable {
        public var networksDeleted: [String]
        public init(networksDeleted: [String]) { self.networksDeleted = networksDeleted }
        enum CodingKeys: String, CodingKey { case networksDeleted = "NetworksDeleted" }
    }

    public struct NetworkConnectParams: Codable, Sendable, Equatable {
        public var network: String
        public var container: String
        public var aliases: [String]?
        /// `--ip`: a fixed address in the network's subnet.
        public var ipv4Address: String?
        public init(network: String, container: String, aliases: [String]? = nil, ipv4Address: String? = nil) {
            self.network = network; self.container = container; self.aliases = aliases; self.ipv4Address = ipv4Address
        }
    }

    public struct NetworkDisconnectParams: Codable, Sendable, Equatable {
        public var network: String
        public var container: String
        public var force: Bool?
        public init(network: String, container: String, force: Bool? = nil) {
            self.network = network; self.container = container; self.force = force
        }
    }

    /// Docker's network inspect object.
    public struct NetworkInspect: Codable, Sendable, Equatable {
        public struct IPAMConfig: Codable, Sendable, Equatable {
            public var subnet: String
            public var gateway: String
            public init(subnet: String, gateway: String) { self.subnet = subnet; self.gateway = gateway }
            enum CodingKeys: String, CodingKey { case subnet = "Subnet", gateway = "Gateway" }
        }
        public struct IPAM: Codable, Sendable, Equatable {
            public var driver: String
            public var options: [String: String]
            public var config: [IPAMConfig]
            public init(driver: String = "default", options: [String: String] = [:], config: [IPAMConfig]) {
                self.driver = driver; self.options = options; self.config = config
            }
            enum CodingKeys: String, CodingKey { case driver = "Driver", options = "Options", config = "Config" }
        }
        public struct Endpoint: Codable, Sendable, Equatable {
            public var name: String
            public var endpointID: String
            public var macAddress: String
            /// "172.18.0.2/16"
            public var ipv4Address: String
            public var ipv6Address: String
            public init(name: String, endpointID: String, macAddress: String, ipv4Address: String, ipv6Address: String = "") {
                self.name = name; self.endpointID = endpointID; self.macAddress = macAddress
                self.ipv4Address = ipv4Address; self.ipv6Address = ipv6Address
            }
            enum CodingKeys: String, CodingKey {
                case name = "Name", endpointID = "EndpointID", macAddress = "MacAddress"
                case ipv4Address = "IPv4Address", ipv6Address = "IPv6Address"
            }
        }
        public var name: String
        public var id: String
        /// RFC 3339 with nanoseconds.
        public var created: String
        public var scope: String
        public var driver: String
        public var enableIPv6: Bool
        public var ipam: IPAM
        public var `internal`: Bool
        public var attachable: Bool
        public var ingress: Bool
        public var containers: [String: Endpoint]
        public var options: [String: String]
        public var labels: [String: String]
        public init(name: String, id: String, created: String, scope: String = "local", driver: String, enableIPv6: Bool = false,
                    ipam: IPAM, internal isInternal: Bool, attachable: Bool = false, ingress: Bool = false,
                    containers: [String: Endpoint], options: [String: String], labels: [String: String]) {
            self.name = name; self.id = id; self.created = created; self.scope = scope; self.driver = driver
            self.enableIPv6 = enableIPv6; self.ipam = ipam; self.internal = isInternal; self.attachable = attachable
            self.ingress = ingress; self.containers = containers; self.options = options; self.labels = labels
        }
        enum CodingKeys: String, CodingKey {
            case name = "Name", id = "Id", created = "Created", scope = "Scope", driver = "Driver", enableIPv6 = "EnableIPv6"
            case ipam = "IPAM", `internal` = "Internal", attachable = "Attachable", ingress = "Ingress"
            case containers = "Containers", options = "Options", labels = "Labels"
        }
    }

    /// Docker's NetworkingConfig of a container create: per network, its aliases and fixed address.
    public struct NetworkingConfig: Codable, Sendable, Equatable {
        public var endpointsConfig: [String: EndpointSettings]?
        public init(endpointsConfig: [String: EndpointSettings]? = nil) { self.endpointsConfig = endpointsConfig }
        enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
    }

    public struct EndpointSettings: Codable, Sendable, Equatable {
        public struct IPAMConfig: Codable, Sendable, Equatable {
            public var ipv4Address: String?
            public init(ipv4Address: String? = nil) { self.ipv4Address = ipv4Address }
            enum CodingKeys: String, CodingKey { case ipv4Address = "IPv4Address" }
        }
        public var aliases: [String]?
        public var ipamConfig: IPAMConfig?
        public init(aliases: [String]? = nil, ipamConfig: IPAMConfig? = nil) { self.aliases = aliases; self.ipamConfig = ipamConfig }
        enum CodingKeys: String, CodingKey { case aliases = "Aliases", ipamConfig = "IPAMConfig" }
    }
}
