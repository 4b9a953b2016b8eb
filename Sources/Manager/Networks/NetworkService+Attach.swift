import FoundationEssentials
import Glibc
import Network
import OCI
import RPC

/// A container on its networks, at each start (the container's mutex held):
///
/// | step | start | undone by `detach` (exit, failed start, reconcile) |
/// | --- | --- | --- |
/// | 1 | published host ports bound (PortReservations) | sockets closed |
/// | 2 | network namespace pinned at `<state>/netns/<id>` | unmounted, removed |
/// | 3 | per network: CNI `bridge` ADD (veth, address from host-local) | `bridge` DEL (lease freed) |
/// | 4 | first network, with ports: CNI `portmap` ADD (DNAT) | `portmap` DEL |
///
/// The runtime then makes the container in that namespace (the spec joins
/// its path). `host`, `none` and `container:` modes have none of this: a `none`
/// container gets a new namespace from the runtime, with lo up and nothing else,
/// and nothing ever needs to enter it from outside (connect refuses it; a
/// `container:` joiner goes through its pid), so berthd pins nothing for it:
/// one mount fewer on the host per container, and none to undo at its exit.
extension NetworkService {
    /// The networks of a new container: NetworkMode's (default `bridge`), with
    /// create's aliases and `--ip`; nil for host, none and container: modes.
    func endpoints(for p: BerthAPI.ContainerCreateParams) throws -> [ContainerEndpoint]? {
        let mode = p.hostConfig.networkMode ?? ""
        let settings = p.networkingConfig?.endpointsConfig ?? [:]
        if mode == "host" || mode == "none" || mode.hasPrefix("container:") {
            if settings.values.contains(where: { !($0.aliases ?? []).isEmpty }) {
                throw BerthError(.invalidArgument, "network-scoped alias is supported only for containers in user defined networks")
            }
            return nil
        }
        let n = try network(mode.isEmpty || mode == "default" ? Self.defaultNetwork : mode)
        guard n.isBridge else { return nil }
        let s = settings[n.name] ?? settings[n.id] ?? (settings.count == 1 ? settings.first!.value : nil)
        return [try endpoint(on: n, aliases: s?.aliases ?? [], ip: s?.ipamConfig?.ipv4Address)]
    }

    /// Checks what Docker checks of an endpoint's aliases and fixed address.
    func endpoint(on n: NetworkRecord, aliases: [String], ip: String?) throws -> ContainerEndpoint {
        let userDefined = !n.predefined
        if !aliases.isEmpty && !userDefined {
            throw BerthError(.invalidArgument, "network-scoped alias is supported only for containers in user defined networks")
        }
        if let ip, !ip.isEmpty {
            guard userDefined else { throw BerthError(.invalidArgument, "user specified IP address is supported on user defined networks only") }
            guard let a = IPv4Address(ip) else { throw BerthError(.invalidArgument, "invalid IPv4 address: \(ip)") }
            guard let s = IPv4Subnet(n.subnet), s.contains(a), a != s.network, a != s.broadcast, a.description != n.gateway else {
                throw BerthError(.invalidArgument, "Invalid address \(ip): It does not belong to any of this network's subnets")
            }
        }
        return ContainerEndpoint(networkID: n.id, aliases: aliases, requestedIPv4: ip?.isEmpty == true ? nil : ip)
    }

    /// Steps 1–4; returns the namespace the spec joins (nil: host, none, container:).
    /// On failure everything done is undone and the record says nothing is attached.
    func attach(_ r: inout ContainerRecord) throws -> String? {
        let mode = r.hostConfig.networkMode ?? ""
        if mode == "host" || mode == "none" || mode.hasPrefix("container:") { return nil }
        let onBridge = !(r.networks ?? []).isEmpty
        let requests = onBridge ? try Self.portRequests(r) : []
        let firstEndpoint = Self.randomID()
        let published: [PublishedPort]
        do { published = try ports.reserve(r.id, requests) } catch {
            throw BerthError(.failedPrecondition,
                             "driver failed programming external connectivity on endpoint \(r.name) (\(firstEndpoint)): \(error.message)")
        }
        r.publishedPorts = published.isEmpty ? nil : published
        let path = paths.netns + "/" + r.id
        NetworkNamespace.remove(at: path)
        do {
            do { try NetworkNamespace.create(at: path) } catch { throw BerthError(.internal, error.message) }
            r.sandboxKey = path
            for i in (r.networks ?? []).indices {
                try attachEndpoint(&r, i, endpointID: i == 0 ? firstEndpoint : Self.randomID())
            }
        } catch {
            detach(&r)
            throw error
        }
        namesChanged((r.networks ?? []).map(\.networkID))
        return path
    }

    /// CNI ADD of one endpoint of a container whose namespace exists (start, connect).
    func attachEndpoint(_ r: inout ContainerRecord, _ i: Int, endpointID: String) throws {
        guard var eps = r.networks, let path = r.sandboxKey else { return }
        let n = try network(eps[i].networkID)
        let net = try bridgeNetwork(n)
        let used = Set(eps.compactMap(\.ifname))
        let ifname = (0...eps.count).map { "eth\($0)" }.first { !used.contains($0) }!
        eps[i].ifname = ifname
        eps[i].endpointID = endpointID
        r.networks = eps  // from here on, detach runs DEL for it
        var args = "IgnoreUnknown=1"
        if let ip = eps[i].requestedIPv4 { args += ";IP=\(ip)" }
        let att = CNI.Attachment(containerID: r.id, netns: path, ifname: ifname, args: args)
        do {
            guard let result = try cni.invoke(.add, net.bridgePlugin, att) else { throw CNIError("no result from the bridge plugin") }
            let got = try CNIResult(parsing: result, ifname: ifname)
            eps[i].ipAddress = got.address.description
            eps[i].prefixLength = got.prefixLength
            eps[i].gateway = net.isInternal ? nil : (got.gateway ?? net.gateway).description
            eps[i].macAddress = got.macAddress
            r.networks = eps
            if i == 0, let ports = r.publishedPorts, !ports.isEmpty {
                try cni.invoke(.add, net.portmapPlugin(ports, prevResult: result), att)
            }
        } catch let e as CNIError {
            throw BerthError(.internal, "failed to set up container networking on network \(n.name): \(e.message)")
        }
    }

    /// CNI DEL of one endpoint (disconnect, detach); the lease is freed.
    func detachEndpoint(_ r: inout ContainerRecord, _ i: Int) {
        guard var eps = r.networks, let ifname = eps[i].ifname else { return }
        let path = r.sandboxKey ?? (paths.netns + "/" + r.id)
        let att = CNI.Attachment(containerID: r.id, netns: path, ifname: ifname)
        if let n = try? network(eps[i].networkID), let net = try? bridgeNetwork(n) {
            if i == 0, let ports = r.publishedPorts, !ports.isEmpty {
                do { try cni.invoke(.del, net.portmapPlugin(ports, prevResult: nil), att) } catch {
                    logger.warn("container \(r.shortID): portmap DEL: \(error)")
                }
            }
            do { try cni.invoke(.del, net.bridgePlugin, att) } catch {
                logger.warn("container \(r.shortID): bridge DEL on network \(n.name): \(error)")
            }
        }
        eps[i].detach()
        r.networks = eps
    }

    /// Undoes `attach`, whatever part of it was done; never fails.
    func detach(_ r: inout ContainerRecord) {
        let changed = (r.networks ?? []).filter { $0.ifname != nil }.map(\.networkID)
        for i in (r.networks ?? []).indices.reversed() { detachEndpoint(&r, i) }
        ports.release(r.id)
        NetworkNamespace.remove(at: r.sandboxKey ?? (paths.netns + "/" + r.id))
        r.sandboxKey = nil
        r.publishedPorts = nil
        namesChanged(changed)
    }

    /// After berthd's restart, a running container's ports are bound again (exactly those it had).
    func reclaimPorts(_ r: ContainerRecord) {
        guard let ports = r.publishedPorts, !ports.isEmpty else { return }
        let requests = ports.map { PortReservations.Request(hostIP: $0.hostIP, hostPortLow: $0.hostPort, hostPortHigh: $0.hostPort,
                                                           containerPort: $0.containerPort, proto: $0.proto) }
        do { _ = try self.ports.reserve(r.id, requests) } catch {
            logger.warn("container \(r.shortID): cannot bind its published ports again: \(error.message)")
        }
    }

    /// What a crash or a reboot left: namespaces and leases of containers that do not run.
    func removeStale(running: Set<String>) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: paths.netns)) ?? [] where !running.contains(name) {
            NetworkNamespace.remove(at: paths.netns + "/" + name)
        }
        for net in (try? fm.contentsOfDirectory(atPath: paths.ipam)) ?? [] {
            let dir = paths.ipam + "/" + net
            for lease in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where IPv4Address(lease) != nil {
                // host-local's lease: the container id, then the interface, one per line.
                let owner = fm.contents(atPath: dir + "/" + lease).map { String(decoding: $0, as: UTF8.self) }?
                    .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
                if !running.contains(owner) { unlink(dir + "/" + lease) }
            }
        }
    }

    /// `-p` and `-P` as host-port requests: PortBindings, then every exposed
    /// port without a binding on a random port when PublishAllPorts.
    static func portRequests(_ r: ContainerRecord) throws -> [PortReservations.Request] {
        var out: [PortReservations.Request] = []
        let bindings = r.hostConfig.portBindings ?? [:]
        func parse(_ key: String) throws -> (Int, String) {
            let parts = key.split(separator: "/")
            guard let p = parts.first.flatMap({ Int($0) }), (1...65535).contains(p) else {
                throw BerthError(.invalidArgument, "invalid port specification: \"\(key)\"")
            }
            let proto = parts.count > 1 ? String(parts[1]) : "tcp"
            guard proto == "tcp" || proto == "udp" else { throw BerthError(.invalidArgument, "unsupported protocol \(proto) for port \(p)") }
            return (p, proto)
        }
        for key in bindings.keys.sorted() {
            let (port, proto) = try parse(key)
            for b in bindings[key] ?? [] {
                var low = 0, high = 0
                if !b.hostPort.isEmpty {
                    let r = b.hostPort.split(separator: "-").map { Int($0) }
                    guard !r.isEmpty, r.count <= 2, let l = r[0], let h = r.last!, (0...65535).contains(l), h >= l, h <= 65535 else {
                        throw BerthError(.invalidArgument, "invalid hostPort: \(b.hostPort)")
                    }
                    low = l; high = h
                }
                if !b.hostIp.isEmpty && b.hostIp != "0.0.0.0" && IPv4Address(b.hostIp) == nil {
                    throw BerthError(.invalidArgument, "invalid host IP \(b.hostIp) (IPv4 only)")
                }
                out.append(.init(hostIP: b.hostIp == "0.0.0.0" ? "" : b.hostIp, hostPortLow: low, hostPortHigh: high,
                                 containerPort: port, proto: proto))
            }
        }
        if r.hostConfig.publishAllPorts == true {
            for key in (r.config.exposedPorts ?? [:]).keys.sorted() where bindings[key] == nil {
                let (port, proto) = try parse(key)
                out.append(.init(hostIP: "", hostPortLow: 0, hostPortHigh: 0, containerPort: port, proto: proto))
            }
        }
        return out
    }
}
