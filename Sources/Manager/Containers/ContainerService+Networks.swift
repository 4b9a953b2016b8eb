import Network
import OCI
import RPC

/// `network connect` / `disconnect` (they change a container's network list,
/// under its mutex), and what `inspect`, `ps` and `port` show of its networks.
extension ContainerService {
    func connect(_ entry: ContainerEntry, to ref: String, aliases: [String], ip: String?) throws {
        let n = try networking.network(ref)
        try entry.locked { g in
            var r = g.record
            let mode = r.hostConfig.networkMode ?? ""
            if !n.isBridge || mode == "host" {
                throw BerthError(.failedPrecondition, "container cannot be disconnected from host network or connected to host network")
            }
            if mode == "none" || mode.hasPrefix("container:") {
                throw BerthError(.failedPrecondition, "container sharing network namespace with another container or host cannot be connected to any other network")
            }
            var eps = r.networks ?? []
            if eps.contains(where: { $0.networkID == n.id }) {
                throw BerthError(.conflict, "endpoint with name \(r.name) already exists in network \(n.name)")
            }
            eps.append(try networking.endpoint(on: n, aliases: aliases, ip: ip))
            r.networks = eps
            if r.state.hasTask {
                do { try networking.attachEndpoint(&r, eps.count - 1, endpointID: NetworkService.randomID()) } catch {
                    networking.detachEndpoint(&r, eps.count - 1)
                    throw error
                }
                networking.namesChanged([n.id])
            }
            g.record = r
            persist(r)
            emit("connect", r, ["network": n.name])
        }
    }

    func disconnect(_ entry: ContainerEntry, from ref: String, force: Bool) throws {
        let n: NetworkRecord
        do { n = try networking.network(ref) } catch where force { return }
        try entry.locked { g in
            var r = g.record
            guard let i = r.networks?.firstIndex(where: { $0.networkID == n.id }) else {
                if !n.isBridge { throw BerthError(.failedPrecondition, "container cannot be disconnected from host network or connected to host network") }
                throw BerthError(.failedPrecondition, "container \(r.id) is not connected to network \(n.name)")
            }
            networking.detachEndpoint(&r, i)
            r.networks!.remove(at: i)
            g.record = r
            persist(r)
            networking.namesChanged([n.id])
            emit("disconnect", r, ["network": n.name])
        }
    }

    // MARK: What is shown

    /// Docker's NetworkSettings.
    func networkSettings(_ r: ContainerRecord) -> JSONValue {
        let nets = networking.records
        var networks: [(String, JSONValue)] = []
        for e in r.networks ?? [] {
            let name = nets.first { $0.id == e.networkID }?.name ?? e.networkID
            networks.append((name, .object([
                ("IPAMConfig", e.requestedIPv4.map { .object([("IPv4Address", .string($0))]) } ?? .null),
                ("Links", .null), ("Aliases", e.aliases.isEmpty ? .null : .array(e.aliases.map(JSONValue.string))),
                ("MacAddress", .string(e.macAddress ?? "")), ("NetworkID", .string(e.networkID)),
                ("EndpointID", .string(e.endpointID ?? "")), ("Gateway", .string(e.gateway ?? "")),
                ("IPAddress", .string(e.ipAddress ?? "")), ("IPPrefixLen", .int(e.prefixLength ?? 0)),
                ("IPv6Gateway", ""), ("GlobalIPv6Address", ""), ("GlobalIPv6PrefixLen", 0),
                ("DNSNames", r.state.hasTask && nets.first(where: { $0.id == e.networkID })?.predefined == false
                    ? .array(([r.name] + e.aliases + [r.shortID]).map(JSONValue.string)) : .null),
            ])))
        }
        let mode = r.hostConfig.networkMode ?? ""
        if mode == "host" || mode == "none" {
            let id = nets.first { $0.predefined && $0.name == mode }?.id ?? ""
            networks.append((mode, .object([("NetworkID", .string(id)), ("EndpointID", ""), ("Gateway", ""), ("IPAddress", ""),
                                           ("IPPrefixLen", 0), ("MacAddress", "")])))
        }
        // The top-level fields are the default network's (Docker's legacy fields).
        let primary = (r.networks ?? []).first { e in nets.first { $0.id == e.networkID }?.name == NetworkService.defaultNetwork }
        var ports: [(String, JSONValue)] = []
        let published = r.publishedPorts ?? []
        var keys = Set(published.map { "\($0.containerPort)/\($0.proto)" })
        if r.state.hasTask { keys.formUnion((r.config.exposedPorts ?? [:]).keys) }
        for key in keys.sorted() {
            let maps = published.filter { "\($0.containerPort)/\($0.proto)" == key }
            ports.append((key, maps.isEmpty ? .null : .array(maps.map {
                .object([("HostIp", .string($0.hostIP.isEmpty ? "0.0.0.0" : $0.hostIP)), ("HostPort", .string(String($0.hostPort)))])
            })))
        }
        return .object([
            ("Bridge", ""), ("SandboxID", .string(r.sandboxKey == nil ? "" : r.id)), ("Ports", .object(ports)),
            ("SandboxKey", .string(r.sandboxKey ?? "")),
            ("Gateway", .string(primary?.gateway ?? "")), ("IPAddress", .string(primary?.ipAddress ?? "")),
            ("IPPrefixLen", .int(primary?.prefixLength ?? 0)), ("MacAddress", .string(primary?.macAddress ?? "")),
            ("Networks", .object(networks)),
        ])
    }

    /// ps's Ports: each published port, and exposed ones without a mapping while running.
    func portSummaries(_ r: ContainerRecord) -> [BerthAPI.PortSummary] {
        let published = r.publishedPorts ?? []
        var out = published.map {
            BerthAPI.PortSummary(ip: $0.hostIP.isEmpty ? "0.0.0.0" : $0.hostIP, privatePort: $0.containerPort,
                                 publicPort: $0.hostPort, type: $0.proto)
        }
        guard r.state.hasTask else { return out }
        for key in (r.config.exposedPorts ?? [:]).keys.sorted() {
            let parts = key.split(separator: "/")
            guard let port = parts.first.flatMap({ Int($0) }) else { continue }
            let proto = parts.count > 1 ? String(parts[1]) : "tcp"
            if !published.contains(where: { $0.containerPort == port && $0.proto == proto }) {
                out.append(BerthAPI.PortSummary(privatePort: port, type: proto))
            }
        }
        return out
    }
}
