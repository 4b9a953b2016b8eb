import Glibc
import Network

/// Name resolution on user-defined networks (docs/networking.md, Names and
/// DNS): one DNSServer for berthd, listening on each user-defined network's
/// gateway, answering the network's names (`names(network:)`) and forwarding
/// the rest to the host's resolvers. Its table is replaced whenever the names
/// change (a container starts, stops, connects, disconnects or is renamed).
/// The default bridge has no name server, as in Docker. The server knows each
/// network by its name, so that `web.NETWORK` resolves as in Docker.
extension NetworkService {
    /// Starts serving `n`'s names once its bridge is up (create, berthd's start).
    /// A failure leaves the network without names, not without connectivity.
    func serveNames(_ n: NetworkRecord) {
        guard n.isBridge, !n.predefined, let gateway = IPv4Address(n.gateway) else { return }
        do {
            let server = try nameServer()
            try server.listen(network: n.name, address: gateway)
            server.setRecords(network: n.name, names(network: n.id))
        } catch {
            logger.error("network \(n.name): containers cannot resolve each other's names: \(error)")
        }
    }

    /// At `network rm`: the sockets are closed when this returns.
    func stopServingNames(_ n: NetworkRecord) {
        guard let server = nameServerBox.withLock({ $0 }) else { return }
        server.stopListening(network: n.name)
        server.removeRecords(network: n.name)
    }

    /// Every user-defined network's table again (berthd's start, once the containers are known).
    public func refreshNames() {
        for n in records where n.isBridge && !n.predefined { refreshNames(n.id) }
    }

    func refreshNames(_ networkID: String) {
        guard let server = nameServerBox.withLock({ $0 }), let n = table.withLock({ $0[networkID] }), n.isBridge, !n.predefined else { return }
        server.setRecords(network: n.name, names(network: n.id))
    }

    /// The one server, made at first use with the host's resolvers as upstreams.
    func nameServer() throws -> DNSServer {
        try nameServerBox.withLock { box in
            if let server = box { return server }
            let server = try DNSServer(upstreams: Self.hostResolvers())
            box = server
            return server
        }
    }

    /// The IPv4 `nameserver`s of the host's /etc/resolv.conf. berthd runs in the
    /// host's namespace, so loopback resolvers (systemd-resolved's 127.0.0.53) work.
    static func hostResolvers(_ path: String = "/etc/resolv.conf") -> [DNSUpstream] {
        ResolvConf.nameservers(in: ContainerService.readText(path)).compactMap { IPv4Address($0).map { DNSUpstream($0) } }
    }
}
