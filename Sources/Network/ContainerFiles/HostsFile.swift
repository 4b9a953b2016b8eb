/// One line of /etc/hosts: an address and the names it carries
/// ("172.17.0.3\tdb 4f2a1c9e0b7d db1").
public struct HostsEntry: Equatable, Sendable {
    public var address: String
    /// Space-separated names, first the canonical one.
    public var names: String

    public init(address: String, names: String) {
        self.address = address
        self.names = names
    }

    /// `--add-host` as the docker CLI accepts it: `NAME:IP` or `NAME=IP`, the
    /// IP in brackets allowed (`[::1]`), or the literal `host-gateway`, which
    /// maps to `hostGateway` (berthd passes the default bridge's gateway, the
    /// host as containers see it). Errors are worded as docker's:
    /// `invalid argument "web:x" for "--add-host" flag: invalid IP address in add-host: "x"`.
    public static func addHost(_ value: String, hostGateway: String?) throws(ContainerFilesError) -> HostsEntry {
        func bad(_ why: String) -> ContainerFilesError {
            ContainerFilesError("invalid argument \"\(value)\" for \"--add-host\" flag: \(why)")
        }
        var separator = value.firstIndex(of: "=")
        if separator == nil { separator = value.firstIndex(of: ":") }  // IPv6 addresses hold colons: the first splits
        guard let separator else { throw bad("bad format for add-host: \"\(value)\"") }
        let name = String(value[..<separator])
        var ip = String(value[value.index(after: separator)...])
        // A colon in the name cannot be told from an IPv6 address: refused, as docker does.
        guard !name.isEmpty, !name.contains(":") else { throw bad("bad format for add-host: \"\(value)\"") }
        if ip == "host-gateway" {
            guard let hostGateway else {
                throw ContainerFilesError("unable to derive the IP value for host-gateway")
            }
            return HostsEntry(address: hostGateway, names: name)
        }
        if ip.count > 2, ip.first == "[", ip.last == "]" { ip = String(ip.dropFirst().dropLast()) }
        guard let (canonical, _) = IPAddressText.parse(ip) else {
            throw bad("invalid IP address in add-host: \"\(ip)\"")
        }
        return HostsEntry(address: canonical, names: name)
    }
}

/// A container's /etc/hosts, line for line as Docker writes it
/// (libnetwork's etchosts): the fixed localhost lines, then the `--add-host`
/// entries, then the `--link` entries, then the container's own address.
public enum HostsFile {
    /// The container's file. `addresses` are the container's own addresses
    /// (none on `--network none`); each gets `IP\tHOSTNAME[.DOMAIN] [HOSTNAME]`
    /// (the short name too when the full one has a dot). Without IPv6 the
    /// IPv6 lines and IPv6 entries are left out, as Docker's BuildNoIPv6 does.
    ///
    /// Current Docker (28 and later) prints `fe00::` and `ff00::` as Go's
    /// netip formats them; older versions wrote `fe00::0` and `ff00::0`.
    public static func render(hostname: String, domainname: String = "", addresses: [String],
                              extraHosts: [HostsEntry] = [], links: [HostsEntry] = [], ipv6: Bool = true) -> String {
        var lines: [HostsEntry] = [HostsEntry(address: "127.0.0.1", names: "localhost")]
        if ipv6 {
            lines += [
                HostsEntry(address: "::1", names: "localhost ip6-localhost ip6-loopback"),
                HostsEntry(address: "fe00::", names: "ip6-localnet"),
                HostsEntry(address: "ff00::", names: "ip6-mcastprefix"),
                HostsEntry(address: "ff02::1", names: "ip6-allnodes"),
                HostsEntry(address: "ff02::2", names: "ip6-allrouters"),
            ]
        }
        var names = hostname
        if !domainname.isEmpty { names += "." + domainname }
        if let dot = names.firstIndex(of: "."), !hostname.isEmpty { names += " " + names[..<dot] }
        let own = hostname.isEmpty ? [] : addresses.map { HostsEntry(address: $0, names: names) }
        for entry in extraHosts + links + own where ipv6 || !entry.address.contains(":") {
            lines.append(entry)
        }
        return lines.map { "\($0.address)\t\($0.names)\n" }.joined()
    }

    /// `--network host`: the host's own file, unless `--add-host` entries are
    /// given, in which case the container gets a file of its own so that an
    /// added name can override one of the host's (Docker 28's rule).
    public static func renderForHostNetwork(hostFile: String, hostname: String, extraHosts: [HostsEntry]) -> String {
        if extraHosts.isEmpty { return hostFile }
        return render(hostname: hostname, addresses: [], extraHosts: extraHosts)
    }
}

/// An error in the user's network options, worded as Docker's.
public struct ContainerFilesError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
