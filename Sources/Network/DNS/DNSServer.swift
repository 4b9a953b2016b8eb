import Glibc
import CBerth

/// An upstream resolver the server forwards unknown names to.
public struct DNSUpstream: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16

    public init(_ address: IPv4Address, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    public var description: String { "\(address):\(port)" }
}

/// The DNS server berthd runs for its user-defined networks, as Docker's
/// embedded resolver does: each network listens on its own address (its
/// gateway), answers the names of its containers from a table berthd keeps
/// current, and forwards every other name to the host's resolvers.
///
/// What it answers, for a query that arrives on network N's address:
/// - A for a name in N's table: every address of the name, in an order that
///   rotates by one at each query (round robin over the containers sharing
///   an alias). `<name>.<N>` is the same name. TTL 600, as Docker's.
/// - AAAA, MX or any other type for a name in the table: NOERROR, no records.
/// - PTR for `d.c.b.a.in-addr.arpa` where a.b.c.d is in N's table:
///   `<name>.<N>.` (the container's name, as Docker answers).
/// - Anything else is forwarded to the upstreams in order, each given
///   `timeoutMilliseconds`; the first answer is relayed with the client's id
///   (a SERVFAIL or REFUSED answer moves on to the next upstream, as Docker
///   does); SERVFAIL when every upstream fails. Queries over TCP are
///   forwarded over TCP, so a truncated UDP answer retried over TCP works.
/// - Names of other networks are never seen: each network has its own table.
/// - Malformed packets get FORMERR (or are dropped when shorter than a
///   header); a non-query opcode gets NOTIMP. Nothing a client sends can stop
///   the server.
///
/// One thread polls every socket of every network; nothing blocks on a query.
/// All methods are thread-safe. The server lives until `stop()` or until
/// the last reference to it goes.
///
/// ```swift
/// let dns = try DNSServer(upstreams: hostNameservers)        // from the host's resolv.conf
/// try dns.listen(network: "mynet", address: gateway)          // port 53
/// dns.setRecords(network: "mynet", ["web": [ip1], "db": [ip2], "api": [ip3, ip4]])
/// …
/// dns.stopListening(network: "mynet")                        // network rm
/// ```
public final class DNSServer: @unchecked Sendable {
    private let engine: DNSEngine

    /// Starts the server's thread. `upstreams` are the resolvers unknown names
    /// go to (berthd passes the host's resolv.conf nameservers; it runs on the
    /// host, so loopback resolvers such as 127.0.0.53 work). An upstream gets
    /// `timeoutMilliseconds` (Docker: 4 s) before the next one is tried.
    public init(upstreams: [DNSUpstream], timeoutMilliseconds: Int = 4000) throws {
        engine = try DNSEngine(upstreams: upstreams, timeout: max(1, timeoutMilliseconds))
    }

    deinit { engine.stop() }

    /// Answers queries for `network` on address:port, over UDP and TCP. A
    /// network already listening moves to the new address. Returns the port
    /// (the one the system chose when `port` is 0). Throws when either socket
    /// cannot be bound ("listen udp 172.18.0.1:53: bind: Address already in use").
    @discardableResult
    public func listen(network: String, address: IPv4Address, port: UInt16 = 53) throws -> UInt16 {
        try engine.listen(network: network, address: address, port: port)
    }

    /// Closes `network`'s sockets; they are closed when this returns. Its
    /// records stay until `removeRecords(network:)` or another `setRecords`.
    public func stopListening(network: String) {
        engine.stopListening(network: network)
    }

    /// Replaces `network`'s table: name → addresses (several addresses answer
    /// in rotating order). Names are case-insensitive, with or without the
    /// trailing dot. `reverse` says which name a PTR query for an address
    /// answers; without it, each address answers with the name that has the
    /// fewest addresses (a container's own name rather than a shared alias).
    public func setRecords(network: String, _ records: [String: [IPv4Address]], reverse: [IPv4Address: String]? = nil) {
        engine.setZone(network: network, DNSZone(network: network, records: records, reverse: reverse))
    }

    /// Forgets `network`'s table (a network with no table forwards every query).
    public func removeRecords(network: String) {
        engine.setZone(network: network, nil)
    }

    /// Replaces the upstream resolvers (the host's resolv.conf changed).
    public func setUpstreams(_ upstreams: [DNSUpstream]) {
        engine.setUpstreams(upstreams)
    }

    /// Closes every socket and ends the thread; later `listen` calls throw.
    public func stop() {
        engine.stop()
    }
}
