import FoundationEssentials
import Glibc
import Network
import RPC

/// The host side of a bridge network: the bridge with the gateway's address
/// (made when the network is created and again at berthd's start, so the DNS
/// server can bind the gateway before any container runs), IP forwarding, and
/// the network's firewall rules (Firewall).
extension NetworkService {
    static let ipTool = "/usr/sbin/ip"
    static let iptablesTool = HostCommand.locate("iptables")

    func setUpBridge(_ n: NetworkRecord) throws {
        guard n.isBridge else { return }
        let net = try bridgeNetwork(n)
        if access("/sys/class/net/" + n.bridge, F_OK) != 0 {
            try ip(["link", "add", "name", n.bridge, "type", "bridge"])
        }
        try ip(["addr", "replace", "\(n.gateway)/\(net.subnet.prefixLength)", "dev", n.bridge])
        try ip(["link", "set", n.bridge, "up"])
        Self.enableForwarding()
        try ensureFirewall(net)
    }

    /// The rules, the bridge and the leases go (network rm).
    func tearDownBridge(_ n: NetworkRecord) {
        guard n.isBridge, let net = try? bridgeNetwork(n) else { return }
        for rule in Firewall.rules(bridge: net.bridge, subnet: net.subnet, internal: net.isInternal) {
            // -D until it fails: a rule added twice by a crash between -C and -A goes too.
            for _ in 0..<8 { guard (try? iptables(rule.arguments("-D")))?.status == 0 else { break } }
        }
        _ = try? HostCommand.run(Self.ipTool, ["link", "del", n.bridge])
        ContainerService.removeTree(net.leaseDirectory)
    }

    func ensureFirewall(_ net: BridgeNetwork) throws {
        for (table, chain) in Firewall.chains {
            let r = try iptables(["-w", "-t", table, "-N", chain])
            if r.status != 0 && !r.stderr.contains("already exists") {
                throw BerthError(.internal, "iptables: cannot create chain \(chain): \(r.message)")
            }
        }
        for rule in Firewall.jumps + Firewall.rules(bridge: net.bridge, subnet: net.subnet, internal: net.isInternal) {
            guard try iptables(rule.arguments("-C")).status != 0 else { continue }
            let r = try iptables(rule.arguments(rule.first ? "-I" : "-A"))
            guard r.status == 0 else {
                throw BerthError(.internal, "iptables \(rule.arguments("-A").joined(separator: " ")): \(r.message)")
            }
        }
    }

    @discardableResult
    func ip(_ args: [String]) throws -> HostCommand.Result {
        let r = try HostCommand.run(Self.ipTool, args)
        guard r.status == 0 else { throw BerthError(.internal, "ip \(args.joined(separator: " ")): \(r.message)") }
        return r
    }

    func iptables(_ args: [String]) throws -> HostCommand.Result {
        try HostCommand.run(Self.iptablesTool, args)
    }

    static func enableForwarding() {
        let fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = write(fd, "1", 1)
        close(fd)
    }

    /// IPv4 routes of the host (/proc/net/route) but the default one and
    /// those on `except`: a new network's subnet must not overlap them.
    static func hostRoutes(except: Set<String> = []) -> [IPv4Subnet] {
        guard let data = FileManager.default.contents(atPath: "/proc/net/route") else { return [] }
        var out: [IPv4Subnet] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count > 7, !except.contains(String(f[0])), let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16),
                  dst != 0 else { continue }
            // Little-endian hex in the file.
            let len = mask.nonzeroBitCount
            if let s = IPv4Subnet(network: IPv4Address(dst.byteSwapped), prefixLength: len) { out.append(s) }
        }
        return out
    }

    /// Docker's default pools: 172.17–31.0.0/16, then 192.168.0–240.0/20; the
    /// first that overlaps neither a host route nor another network.
    func freeSubnet(from start: Int = 17, except: Set<String> = []) -> IPv4Subnet? {
        let taken = Self.hostRoutes(except: except) + records.compactMap { except.contains($0.bridge) ? nil : IPv4Subnet($0.subnet) }
        var candidates = (start...31).compactMap { IPv4Subnet("172.\($0).0.0/16") }
        candidates += stride(from: 0, through: 240, by: 16).compactMap { IPv4Subnet("192.168.\($0).0/20") }
        return candidates.first { c in !taken.contains { $0.overlaps(c) } }
    }
}
