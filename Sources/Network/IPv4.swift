/// An IPv4 address as a number, so that subnets can be computed on.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Dotted quad ("172.18.0.1"); nil for anything else (no leading zeros, no shorthand).
    public init?(_ text: some StringProtocol) {
        var value: UInt32 = 0, octets = 0, digits = 0, octet: UInt32 = 0
        for c in text.utf8 {
            if c == UInt8(ascii: ".") {
                guard digits > 0, octets < 3 else { return nil }
                value = value << 8 | octet; octets += 1; digits = 0; octet = 0
            } else if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                if digits > 0 && octet == 0 { return nil }
                octet = octet * 10 + UInt32(c - UInt8(ascii: "0")); digits += 1
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, octets == 3 else { return nil }
        self.value = value << 8 | octet
    }

    /// The four bytes in network order.
    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// A subnet in CIDR notation ("172.18.0.0/16").
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public var network: IPv4Address
    public var prefixLength: Int

    public init?(network: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        self.prefixLength = prefixLength
        self.network = IPv4Address(network.value & Self.mask(prefixLength))
    }

    /// "a.b.c.d/n"; host bits are cleared as Docker does ("172.18.0.5/16" is 172.18.0.0/16).
    public init?(_ text: some StringProtocol) {
        guard let slash = text.firstIndex(of: "/"), let address = IPv4Address(text[..<slash]),
              let length = Int(text[text.index(after: slash)...]) else { return nil }
        self.init(network: address, prefixLength: length)
    }

    public var mask: UInt32 { Self.mask(prefixLength) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    /// The n-th address of the subnet (n = 1 is the first host, usually the gateway).
    public func address(_ n: UInt32) -> IPv4Address { IPv4Address(network.value &+ n) }
    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == network.value }
    public func overlaps(_ other: IPv4Subnet) -> Bool { contains(other.network) || other.contains(network) }
    public var description: String { "\(network)/\(prefixLength)" }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }
}
