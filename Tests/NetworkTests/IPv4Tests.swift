import Testing
@testable import Network

@Suite struct IPv4Tests {
    @Test func parsesAndFormatsAddresses() {
        #expect(IPv4Address("172.18.0.1")?.value == 0xAC12_0001)
        #expect(IPv4Address("255.255.255.255")?.description == "255.255.255.255")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.4 "] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    @Test func subnetsClearHostBitsAndContainTheirAddresses() throws {
        let s = try #require(IPv4Subnet("172.18.5.9/16"))
        #expect(s.description == "172.18.0.0/16")
        #expect(s.address(1).description == "172.18.0.1")
        #expect(s.broadcast.description == "172.18.255.255")
        #expect(s.contains(IPv4Address("172.18.200.3")!))
        #expect(!s.contains(IPv4Address("172.19.0.1")!))
        #expect(s.overlaps(IPv4Subnet("172.18.3.0/24")!))
        #expect(!s.overlaps(IPv4Subnet("10.0.0.0/8")!))
        #expect(IPv4Subnet("10.0.0.0/33") == nil)
        #expect(IPv4Subnet("0.0.0.0/0")?.contains(IPv4Address("8.8.8.8")!) == true)
    }
}
