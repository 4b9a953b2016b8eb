import FoundationEssentials
import Glibc
import Network
import OCI
import RPC
import Synchronization

/// Networks (docs/networking.md): the predefined `bridge`, `host` and `none`
/// and user-defined bridge networks, each a record in metadata.db, a Linux
/// bridge with the gateway's address and a few firewall rules set once per
/// network. Containers are attached with the CNI plugins (bridge, host-local,
/// portmap) in a network namespace berthd pins for them
/// (NetworkService+Attach).
public final class NetworkService: Sendable {
    struct Paths: Sendable {
        /// `<state>/netns/<container id>`: pinned namespaces.
        var netns: String
        /// `<state>/networks`: host-local's leases (volatile: a reboot frees every address).
        var ipam: String
    }

    /// The default network's bridge and `bip` (gateway/prefix) from the daemon's configuration.
    struct Defaults: Sendable {
        var bridge: String
        var bip: String?
    }

    let paths: Paths
    let defaults: Defaults
    let store: NetworkStore
    let logger: Logger
    let cni: CNI
    let ports = PortReservations()
    let table = Mutex<[String: NetworkRecord]>([:])
    /// Serializes create, remove and prune (choosing a free subnet, checking use).
    let changes = Mutex<Void>(())
    /// The containers' records, for `inspect`, the in-use check and the names (set by ContainerService).
    let recordsProvider = Mutex<(@Sendable () -> [ContainerRecord])?>(nil)
    let observers = Mutex<[@Sendable (String) -> Void]>([])
    /// The name server of user-defined networks (NetworkService+DNS), made at first use.
    let nameServerBox = Mutex<DNSServer?>(nil)

    init(paths: Paths, defaults: Defaults, store: NetworkStore, logger: Logger) {
        self.paths = paths
        self.defaults = defaults
        self.store = store
        self.logger = logger
        cni = CNI(runner: { path, env, input in
            let r = try HostCommand.run(path, [], environment: env, input: input)
            return (r.status, Array(r.stdout.utf8), r.stderr)
        })
    }

    public static let defaultNetwork = "bridge"

    var records: [NetworkRecord] { table.withLock { Array($0.values) }.sorted { $0.created < $1.created } }

    /// Docker's lookup: full id, exact name, then a unique id prefix.
    func network(_ ref: String) throws -> NetworkRecord {
        let all = table.withLock { $0 }
        if let n = all[ref] { return n }
        if let n = all.values.first(where: { $0.name == ref }) { return n }
        let matches = ref.isEmpty ? [] : all.values.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 { throw BerthError(.invalidArgument, "network \(ref) is ambiguous (\(matches.count) matches found based on ID prefix)") }
        throw BerthError(.notFound, "network \(ref) not found")
    }

    /// The containers on the network (all of them, running or not).
    func containers(on networkID: String) -> [ContainerRecord] {
        let all = recordsProvider.withLock { $0 }?() ?? []
        return all.filter { r in (r.networks ?? []).contains { $0.networkID == networkID } }
    }

    /// The BridgeNetwork the CNI plugins are given: the network's id as CNI's
    /// name, so host-local's leases live in `<state>/networks/<id>/`.
    func bridgeNetwork(_ n: NetworkRecord) throws -> BridgeNetwork {
        guard n.isBridge, let subnet = IPv4Subnet(n.subnet), let gw = IPv4Address(n.gateway) else {
            throw BerthError(.internal, "network \(n.name) has no usable bridge configuration")
        }
        return BridgeNetwork(name: n.id, bridge: n.bridge, subnet: subnet, gateway: gw, isInternal: n.internal, ipamDataDir: paths.ipam)
    }

    /// Someone (the DNS server) wants to know when the names of a network change;
    /// `body` runs on another thread and may call `names(network:)`.
    public func onNamesChanged(_ body: @escaping @Sendable (_ networkID: String) -> Void) {
        observers.withLock { $0.append(body) }
    }

    /// Tells the observers on a thread of their own: the caller may hold a
    /// container's mutex, which `names(network:)` takes to read the records.
    func namesChanged(_ networkIDs: [String]) {
        let obs = observers.withLock { $0 }
        let ids = Set(networkIDs)
        guard !obs.isEmpty, !ids.isEmpty else { return }
        _ = Thread.detach { for id in ids { for o in obs { o(id) } } }
    }

    static func randomID() -> String { ContainerService.randomID() }
}
