import Testing
@testable import Network

@Suite struct DNSWireTests {
    @Test func namesFollowBackwardPointersAndRefuseLoops() throws {
        // "example.com" at 12, then "www" + pointer to it at 25.
        var packet = [UInt8](repeating: 0, count: 12) + Wire.labels("Example.COM")
        let www = packet.count
        packet += [3, 0x77, 0x77, 0x77, 0xC0, 12]
        let (name, end) = try readName(packet, at: www)
        #expect(name == "www.example.com")
        #expect(end == www + 6)                 // just past the pointer, not where it led
        // A pointer to itself, and two pointers pointing at each other.
        #expect(throws: DNSWireError.pointerLoop) { try readName([UInt8](repeating: 0, count: 12) + [0xC0, 12], at: 12) }
        #expect(throws: DNSWireError.pointerLoop) { try readName([UInt8](repeating: 0, count: 12) + [0xC0, 14, 0xC0, 12], at: 12) }
        #expect(throws: DNSWireError.truncated) { try readName([UInt8](repeating: 0, count: 12) + [0xC0], at: 12) }
        #expect(throws: DNSWireError.badLabelType) { try readName([UInt8](repeating: 0, count: 12) + [0x80, 0], at: 12) }
    }

    @Test func oddBytesInLabelsAreValidButNeverMatch() throws {
        let packet = [UInt8](repeating: 0, count: 12) + [3, 0x77, 0x2E, 0x62, 0]   // "w.b" as one label
        let (name, _) = try readName(packet, at: 12)
        #expect(name == nil)
    }

    @Test func reverseNamesParse() {
        #expect(DNSZone.reverseAddress("2.0.18.172.in-addr.arpa") == IPv4Address("172.18.0.2"))
        #expect(DNSZone.reverseAddress("0.18.172.in-addr.arpa") == nil)
        #expect(DNSZone.reverseAddress("x.0.18.172.in-addr.arpa") == nil)
        #expect(DNSZone.reverseAddress("2.0.18.172.ip6.arpa") == nil)
    }

    @Test func encodedNamesRoundTrip() throws {
        let encoded = try #require(encodeName("web.mynet."))
        #expect(encoded == Wire.labels("web.mynet"))
        #expect(encodeName("a..b") == nil)
        #expect(encodeName(String(repeating: "x", count: 64)) == nil)
    }
}
