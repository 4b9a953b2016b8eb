import FoundationEssentials
import Glibc
import Network
import OCI
import RPC

/// Starting the service, and the network methods: create, list, inspect, rm, prune.
extension NetworkService {
    public static func start(daemon: Daemon, images: ImageService) throws -> NetworkService {
        let state = daemon.options.state
        let paths = Paths(netns: state + "/netns", ipam: state + "/networks")
        for dir in [paths.netns, paths.ipam] { try ContainerService.makeDirectory(dir, mode: 0o711) }
        let service = NetworkService(paths: paths, defaults: Defaults(bridge: daemon.config.bridge, bip: daemon.config.bip),
                                     store: try NetworkStore(db: images.database), logger: daemon.logger)
        for r in try service.store.all() { service.table.withLock { $0[r.id] = r } }
        service.onNamesChanged { [unowned service] id in service.refreshNames(id) }
        try service.ensurePredefined()
        // Bridges go with a reboot; each network's is made again now, not at its first container.
        for n in service.records where n.isBridge {
            do { try service.setUpBridge(n) } catch {
                if n.predefined { throw error }
                service.logger.error("cannot set up network \(n.name): \(error)")
                continue
            }
            service.serveNames(n)
        }
        return service
    }

    /// `bridge` (the default network: the configured bridge and subnet, else a
    /// free one), `host` and `none`, made at the first start.
    func ensurePredefined() throws {
        let existing = records
        var bridge = existing.first { $0.predefined && $0.name == Self.defaultNetwork }
        var subnet: IPv4Subnet, gateway: IPv4Address
        if let bip = defaults.bip {
            guard let s = IPv4Subnet(bip), let g = IPv4Address(bip.split(separator: "/")[0]), s.contains(g) else {
                throw BerthError(.invalidArgument, "bip: invalid address \"\(bip)\" (gateway/prefix, as 172.17.0.1/16)")
            }
            subnet = s; gateway = g
        } else if let b = bridge, b.bridge == defaults.bridge, let s = IPv4Subnet(b.subnet), let g = IPv4Address(b.gateway) {
            subnet = s; gateway = g
        } else {
            guard let s = freeSubnet(except: Set([defaults.bridge] + (bridge.map { [$0.bridge] } ?? []))) else {
                throw BerthError(.resourceExhausted, "no free subnet for the default bridge network")
            }
            subnet = s; gateway = s.address(1)
        }
        if var b = bridge {
            if b.bridge != defaults.bridge || b.subnet != subnet.description || b.gateway != gateway.description {
                b.bridge = defaults.bridge; b.subnet = subnet.description; b.gateway = gateway.description
                try store.update(b)
                bridge = b
                table.withLock { $0[b.id] = b }
            }
        } else {
            try add(NetworkRecord(id: Self.randomID(), name: Self.defaultNetwork, driver: "bridge", created: ContainerService.now(),
                                  bridge: defaults.bridge, subnet: subnet.description, gateway: gateway.description,
                                  internal: false, labels: [:], predefined: true))
        }
        for (name, driver) in [("host", "host"), ("none", "null")] where !existing.contains(where: { $0.predefined && $0.name == name }) {
            try add(NetworkRecord(id: Self.randomID(), name: name, driver: driver, created: ContainerService.now(), bridge: "",
                                  subnet: "", gateway: "", internal: false, labels: [:], predefined: true))
        }
    }

    private func add(_ r: NetworkRecord) throws {
        try store.insert(r)
        table.withLock { $0[r.id] = r }
    }

    // MARK: create

    func create(_ p: BerthAPI.NetworkCreateParams) throws -> BerthAPI.NetworkCreateResult {
        let driver = p.driver ?? "bridge"
        guard driver == "bridge" else {
            throw BerthError(.notFound, "plugin \"\(driver)\" not found")
        }
        guard !p.name.isEmpty else { throw BerthError(.invalidArgument, "network name is required") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        guard p.name.allSatisfy(allowed.contains), p.name.first?.isLetter == true || p.name.first?.isNumber == true else {
            throw BerthError(.invalidArgument, "invalid network name \"\(p.name)\"")
        }
        return try changes.withLock { _ in
            if records.contains(where: { $0.name == p.name }) {
                throw BerthError(.conflict, "network with name \(p.name) already exists")
            }
            let id = Self.randomID()
            let bridge = "br-" + id.prefix(12)
            var subnet: IPv4Subnet
            if let s = p.subnet {
                guard let parsed = IPv4Subnet(s), s.split(separator: "/").count == 2 else {
                    throw BerthError(.invalidArgument, "invalid CIDR address: \(s)")
                }
                guard parsed.prefixLength <= 30 else { throw BerthError(.invalidArgument, "subnet \(s) is too small (at most /30)") }
                if let other = records.first(where: { IPv4Subnet($0.subnet)?.overlaps(parsed) == true }) {
                    throw BerthError(.conflict, "Pool overlaps with other one on this address space (network \(other.name): \(other.subnet))")
                }
                subnet = parsed
            } else {
                guard p.gateway == nil else { throw BerthError(.invalidArgument, "gateway \(p.gateway!) given without a subnet") }
                guard let s = freeSubnet(from: 18) else {
                    throw BerthError(.resourceExhausted, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
                }
                subnet = s
            }
            var gateway = subnet.address(1)
            if let g = p.gateway {
                guard let a = IPv4Address(g) else { throw BerthError(.invalidArgument, "invalid gateway address \(g)") }
                guard subnet.contains(a), a != subnet.network, a != subnet.broadcast else {
                    throw BerthError(.invalidArgument, "no matching subnet for gateway \(g)")
                }
                gateway = a
            }
            let r = NetworkRecord(id: id, name: p.name, driver: "bridge", created: ContainerService.now(), bridge: bridge,
                                  subnet: subnet.description, gateway: gateway.description, internal: p.internal ?? false,
                                  labels: p.labels ?? [:], predefined: false)
            do { try setUpBridge(r) } catch {
                tearDownBridge(r)
                throw error
            }
            do { try add(r) } catch {
                tearDownBridge(r)
                throw error
            }
            serveNames(r)
            return BerthAPI.NetworkCreateResult(id: id)
        }
    }

    // MARK: rm, prune

    func remove(_ ref: String) throws {
        try changes.withLock { _ in
            let n = try network(ref)
            if n.predefined {
                throw BerthError(.failedPrecondition, "\(n.name) is a pre-defined network and cannot be removed")
            }
            if containers(on: n.id).contains(where: { $0.state.hasTask }) {
                throw BerthError(.failedPrecondition, "error while removing network: network \(n.name) id \(n.id) has active endpoints")
            }
            try store.delete(n.id)
            table.withLock { _ = $0.removeValue(forKey: n.id) }
            stopServingNames(n)
            tearDownBridge(n)
        }
    }

    func prune(_ p: BerthAPI.NetworkListParams) throws -> BerthAPI.NetworkPruneResult {
        var deleted: [String] = []
        let candidates = try list(BerthAPI.NetworkListParams(filters: (p.filters ?? [:]).merging(["type": ["custom"]]) { a, _ in a }))
        for n in candidates where containers(on: n.id).isEmpty {
            do { try remove(n.id); deleted.append(n.name) } catch {
                logger.warn("network prune: cannot remove \(n.name): \(error)")
            }
        }
        return BerthAPI.NetworkPruneResult(networksDeleted: deleted)
    }

    // MARK: ls, inspect

    func list(_ p: BerthAPI.NetworkListParams) throws -> [NetworkRecord] {
        let filters = p.filters ?? [:]
        for key in filters.keys where !["name", "id", "label", "driver", "type", "dangling", "scope"].contains(key) {
            throw BerthError(.invalidArgument, "invalid filter '\(key)'")
        }
        return try records.filter { n in
            for (key, values) in filters where !values.isEmpty {
                let ok: Bool
                switch key {
                case "name": ok = values.contains { n.name.contains($0) }
                case "id": ok = values.contains { n.id.hasPrefix($0) }
                case "driver": ok = values.contains(n.driver)
                case "scope": ok = values.contains("local")
                case "type":
                    for v in values where v != "custom" && v != "builtin" { throw BerthError(.invalidArgument, "invalid filter: 'type'='\(v)'") }
                    ok = values.contains(n.predefined ? "builtin" : "custom")
                case "label":
                    ok = values.allSatisfy { v in
                        let kv = v.split(separator: "=", maxSplits: 1).map(String.init)
                        return kv.count == 2 ? n.labels[kv[0]] == kv[1] : n.labels[kv[0]] != nil
                    }
                case "dangling":
                    let unused = !n.predefined && containers(on: n.id).isEmpty
                    ok = values.contains { v in
                        (["true", "1"].contains(v) && unused) || (["false", "0"].contains(v) && !unused)
                    }
                default: ok = true
                }
                if !ok { return false }
            }
            return true
        }
    }

    func inspect(_ n: NetworkRecord) -> BerthAPI.NetworkInspect {
        var endpoints: [String: BerthAPI.NetworkInspect.Endpoint] = [:]
        for c in containers(on: n.id) where c.state.hasTask {
            guard let e = c.networks?.first(where: { $0.networkID == n.id }), let ip = e.ipAddress else { continue }
            endpoints[c.id] = .init(name: c.name, endpointID: e.endpointID ?? "", macAddress: e.macAddress ?? "",
                                    ipv4Address: "\(ip)/\(e.prefixLength ?? 0)")
        }
        var options: [String: String] = [:]
        if n.isBridge { options["com.docker.network.bridge.name"] = n.bridge }
        if n.predefined && n.isBridge {
            options["com.docker.network.bridge.default_bridge"] = "true"
            options["com.docker.network.bridge.enable_ip_masquerade"] = "true"
        }
        return BerthAPI.NetworkInspect(
            name: n.name, id: n.id, created: ContainerService.time(n.created), driver: n.driver,
            ipam: .init(config: n.isBridge ? [.init(subnet: n.subnet, gateway: n.gateway)] : []),
            internal: n.internal, attachable: false, containers: endpoints, options: options, labels: n.labels)
    }
}
