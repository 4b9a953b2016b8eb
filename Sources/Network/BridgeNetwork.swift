import OCI

/// One bridge network as the CNI plugins see it: the `bridge` plugin (veth
/// into the container's namespace, address from `host-local`) and, for a
/// container with published ports, `portmap` chained after it.
///
/// Masquerade and forwarding are not the plugins' job here: berthd sets them
/// once per network (Firewall), so a container costs two plugin execs and no
/// iptables work unless it publishes ports (design.md, "Networking costs").
public struct BridgeNetwork: Sendable, Equatable {
    public var name: String
    public var bridge: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    public var isInternal: Bool
    /// host-local's leases: `<dataDir>/<name>/<address>` holding the container id.
    public var ipamDataDir: String

    public init(name: String, bridge: String, subnet: IPv4Subnet, gateway: IPv4Address, isInternal: Bool, ipamDataDir: String) {
        self.name = name; self.bridge = bridge; self.subnet = subnet; self.gateway = gateway
        self.isInternal = isInternal; self.ipamDataDir = ipamDataDir
    }

    static let cniVersion: JSONValue = "1.0.0"

    /// The bridge plugin's configuration. An internal network gets no default
    /// route: nothing leaves it, not even towards the gateway's other networks.
    public var bridgePlugin: JSONValue {
        var ipam: [(String, JSONValue)] = [
            ("type", "host-local"),
            ("ranges", [[["subnet": .string(subnet.description), "gateway": .string(gateway.description)]]]),
            ("dataDir", .string(ipamDataDir)),
        ]
        if !isInternal { ipam.append(("routes", [["dst": "0.0.0.0/0"]])) }
        return .object([
            ("cniVersion", Self.cniVersion), ("name", .string(name)), ("type", "bridge"), ("bridge", .string(bridge)),
            ("isGateway", .bool(!isInternal)), ("ipMasq", false), ("hairpinMode", true),
            ("ipam", .object(ipam)),
        ])
    }

    /// portmap after the bridge: DNAT of each published port (also from
    /// 127.0.0.1: `snat` masquerades hairpin and localhost traffic, and the
    /// plugin turns on route_localnet for it).
    public func portmapPlugin(_ ports: [PublishedPort], prevResult: JSONValue?) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("cniVersion", Self.cniVersion), ("name", .string(name)), ("type", "portmap"),
            ("capabilities", ["portMappings": true]), ("snat", true),
            ("runtimeConfig", ["portMappings": .array(ports.map(\.cniMapping))]),
        ]
        if let prevResult { fields.append(("prevResult", prevResult)) }
        return .object(fields)
    }

    /// host-local's lease files of this network.
    public var leaseDirectory: String { ipamDataDir + "/" + name }
}

/// One published port: host address and port → container port.
public struct PublishedPort: Codable, Sendable, Equatable, Hashable {
    /// "" for every host address (0.0.0.0).
    public var hostIP: String
    public var hostPort: Int
    public var containerPort: Int
    /// "tcp", "udp" or "sctp".
    public var proto: String

    public init(hostIP: String, hostPort: Int, containerPort: Int, proto: String) {
        self.hostIP = hostIP; self.hostPort = hostPort; self.containerPort = containerPort; self.proto = proto
    }

    var cniMapping: JSONValue {
        var m: [(String, JSONValue)] = [("hostPort", .int(hostPort)), ("containerPort", .int(containerPort)), ("protocol", .string(proto))]
        if !hostIP.isEmpty && hostIP != "0.0.0.0" { m.append(("hostIP", .string(hostIP))) }
        return .object(m)
    }

    /// "0.0.0.0:8080" (the host side as Docker's messages write it).
    public var hostEndpoint: String { (hostIP.isEmpty ? "0.0.0.0" : hostIP) + ":" + String(hostPort) }
}
