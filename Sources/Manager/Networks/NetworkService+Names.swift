import Network
import RPC

/// The names a network's DNS server answers (Docker's embedded DNS): for each
/// running container on it, its name, its aliases on that network, its
/// 12-character id and its compose service (`com.docker.compose.service`),
/// each to the container's address there. Several containers under one name
/// give several addresses. Names are lower-cased (DNS is case-insensitive).
extension NetworkService {
    public func names(network ref: String) -> [String: [IPv4Address]] {
        guard let n = try? network(ref) else { return [:] }
        var out: [String: [IPv4Address]] = [:]
        for c in containers(on: n.id) where c.state.hasTask {
            guard let e = c.networks?.first(where: { $0.networkID == n.id }), let ip = e.ipAddress.flatMap({ IPv4Address($0) }) else { continue }
            var names = [c.name, c.shortID] + e.aliases
            if let service = c.config.labels?["com.docker.compose.service"] { names.append(service) }
            for name in Set(names.map { $0.lowercased() }) where !name.isEmpty { out[name, default: []].append(ip) }
        }
        return out.mapValues { $0.sorted() }
    }

    /// A bridge network's gateway address (where its DNS server listens); nil for host and none.
    public func gateway(network ref: String) -> IPv4Address? {
        (try? network(ref)).flatMap { $0.isBridge ? IPv4Address($0.gateway) : nil }
    }

    /// The gateway of a user-defined network (where its name server listens); nil for
    /// the predefined ones, which have no name server (Docker's default bridge).
    func userDefinedGateway(_ networkID: String) -> IPv4Address? {
        table.withLock { $0[networkID] }.flatMap { $0.isBridge && !$0.predefined ? IPv4Address($0.gateway) : nil }
    }

    /// Every bridge network: id, name, gateway, and whether it is user-defined
    /// (Docker resolves names on those only).
    public var bridgeNetworks: [(id: String, name: String, gateway: IPv4Address, userDefined: Bool)] {
        records.compactMap { n in
            guard n.isBridge, let g = IPv4Address(n.gateway) else { return nil }
            return (n.id, n.name, g, !n.predefined)
        }
    }
}
