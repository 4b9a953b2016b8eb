/// The iptables rules of one bridge network, set when the network is set up
/// and deleted when it is removed (never per container):
///
/// | table/chain | rule | why |
/// | --- | --- | --- |
/// | nat POSTROUTING | `-s SUBNET ! -o BRIDGE -j MASQUERADE` | outbound NAT (not for internal networks) |
/// | filter BERTH-ISOLATION-STAGE-1 | `-i BRIDGE ! -o BRIDGE -j BERTH-ISOLATION-STAGE-2` | Docker's isolation: traffic leaving a network… |
/// | filter BERTH-ISOLATION-STAGE-2 | `-o BRIDGE -j DROP` | …may not enter another one |
/// | filter BERTH-FORWARD | `-i BRIDGE -j ACCEPT`, `-o BRIDGE -j ACCEPT` | forwarding accepted (published ports, replies, outbound) |
/// | (internal) BERTH-ISOLATION-STAGE-1 | `-i BRIDGE ! -o BRIDGE -j DROP`, `! -i BRIDGE -o BRIDGE -j DROP` | no route out, nothing in |
///
/// The shared chains are made once and jumped to from FORWARD; making them is
/// idempotent, so several berthd instances (each with its own bridges) share them
/// and one never deletes another's rules.
public enum Firewall {
    public static let forwardChain = "BERTH-FORWARD"
    public static let stage1 = "BERTH-ISOLATION-STAGE-1"
    public static let stage2 = "BERTH-ISOLATION-STAGE-2"

    /// One rule: table and the rule's arguments after the chain.
    public struct Rule: Sendable, Equatable {
        public var table: String
        public var chain: String
        public var spec: [String]
        /// Inserted at the top of its chain (isolation must come before the accepts).
        public var first: Bool
        public init(_ table: String, _ chain: String, _ spec: [String], first: Bool = false) {
            self.table = table; self.chain = chain; self.spec = spec; self.first = first
        }
        /// `iptables -w -t T -C|-A|-I|-D CHAIN …`.
        public func arguments(_ op: String) -> [String] {
            ["-w", "-t", table, op, chain] + (op == "-I" ? ["1"] : []) + spec
        }
    }

    /// Chains every network needs, with the jumps into them (in order).
    public static let chains: [(table: String, chain: String)] = [("filter", forwardChain), ("filter", stage1), ("filter", stage2)]
    public static let jumps: [Rule] = [
        Rule("filter", "FORWARD", ["-j", forwardChain], first: true),
        Rule("filter", forwardChain, ["-j", stage1], first: true),
    ]

    public static func rules(bridge: String, subnet: IPv4Subnet, internal isInternal: Bool) -> [Rule] {
        if isInternal {
            return [
                Rule("filter", stage1, ["-i", bridge, "!", "-o", bridge, "-j", "DROP"], first: true),
                Rule("filter", stage1, ["!", "-i", bridge, "-o", bridge, "-j", "DROP"], first: true),
                Rule("filter", forwardChain, ["-i", bridge, "-o", bridge, "-j", "ACCEPT"]),
            ]
        }
        return [
            Rule("nat", "POSTROUTING", ["-s", subnet.description, "!", "-o", bridge, "-j", "MASQUERADE"]),
            Rule("filter", stage1, ["-i", bridge, "!", "-o", bridge, "-j", stage2]),
            Rule("filter", stage2, ["-o", bridge, "-j", "DROP"]),
            Rule("filter", forwardChain, ["-i", bridge, "-j", "ACCEPT"]),
            Rule("filter", forwardChain, ["-o", bridge, "-j", "ACCEPT"]),
        ]
    }
}
