import Glibc
import Testing
@testable import Network

/// A real server on loopback addresses, asked by a real socket.
@Suite(.serialized) struct DNSServerTests {
    let ip = { (s: String) in IPv4Address(s)! }

    /// A server for "mynet" on 127.0.0.1 (port chosen by the system) with
    /// web, db and an alias shared by three containers.
    func serve(upstreams: [DNSUpstream] = [], timeout: Int = 4000) throws -> (DNSServer, UInt16) {
        let server = try DNSServer(upstreams: upstreams, timeoutMilliseconds: timeout)
        let port = try server.listen(network: "mynet", address: ip("127.0.0.1"), port: 0)
        server.setRecords(network: "mynet", [
            "web": [ip("172.18.0.2")],
            "db": [ip("172.18.0.3")],
            "api-1": [ip("172.18.0.4")], "api-2": [ip("172.18.0.5")], "api-3": [ip("172.18.0.6")],
            "api": [ip("172.18.0.4"), ip("172.18.0.5"), ip("172.18.0.6")],
        ])
        return (server, port)
    }

    func ask(_ name: String, _ type: UInt16 = Wire.a, id: UInt16 = 0x1234, port: UInt16, at address: String = "127.0.0.1") -> Wire.Message? {
        let client = UDPClient()
        defer { client.close() }
        return client.exchange(Wire.query(id: id, name, type: type), address, port).flatMap(Wire.parse)
    }

    @Test func answersTheAddressOfAKnownName() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let m = try #require(ask("web", id: 0xBEEF, port: port))
        #expect(m.id == 0xBEEF)
        #expect(m.flags & 0x8000 != 0)      // a response
        #expect(m.flags & 0x0080 != 0)      // recursion available, as Docker's resolver says
        #expect(m.rcode == 0)
        #expect(m.questions == 1)
        #expect(m.addresses == ["172.18.0.2"])
        #expect(m.answers.first?.ttl == 600)
    }

    @Test func namesAreCaseInsensitiveWithOrWithoutTheDotAndTheNetworkSuffix() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        for name in ["WEB", "Web.", "web.mynet", "WEB.MyNet."] {
            #expect(ask(name, port: port)?.addresses == ["172.18.0.2"], "\(name)")
        }
        // Records given in upper case with a dot match lower-case queries.
        server.setRecords(network: "mynet", ["Cache.": [ip("172.18.0.9")]])
        #expect(ask("cache", port: port)?.addresses == ["172.18.0.9"])
        // setRecords replaced the table: web is gone.
        #expect(ask("web", port: port)?.rcode == DNSRcode.serverFailure)   // no upstreams
    }

    @Test func threeContainersUnderOneAliasRotate() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let all = ["172.18.0.4", "172.18.0.5", "172.18.0.6"]
        var orders: [[String]] = []
        for _ in 0..<3 { orders.append(try #require(ask("api", port: port)).addresses) }
        for order in orders { #expect(order.sorted() == all) }
        // Three queries, three different first addresses, each a rotation of the last.
        #expect(Set(orders.map { $0[0] }).count == 3)
        #expect(orders[1] == Array(orders[0][1...]) + [orders[0][0]])
        #expect(orders[2] == Array(orders[1][1...]) + [orders[1][0]])
    }

    @Test func rotationGoesOnWhenTheTableIsReplaced() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let first = try #require(ask("api", port: port)).addresses
        // A container starting elsewhere on the network replaces the whole table.
        server.setRecords(network: "mynet", ["api": ["172.18.0.4", "172.18.0.5", "172.18.0.6"].map(ip), "other": [ip("172.18.0.9")]])
        let second = try #require(ask("api", port: port)).addresses
        #expect(second == Array(first[1...]) + [first[0]])
    }

    @Test func otherTypesForAKnownNameAreEmptyNoError() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        let (server, port) = try serve(upstreams: [DNSUpstream(ip("127.0.0.1"), port: upstream.port)])
        defer { server.stop() }
        for type in [Wire.aaaa, Wire.mx] {
            let m = try #require(ask("web", type, port: port))
            #expect(m.rcode == 0)
            #expect(m.answers.isEmpty)
        }
        #expect(upstream.names.isEmpty)     // a known name is never forwarded
    }

    @Test func reverseLookupsGiveTheContainerName() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let web = try #require(ask("2.0.18.172.in-addr.arpa", Wire.ptr, port: port))
        #expect(web.rcode == 0)
        #expect(web.answers.map(\.text) == ["web.mynet."])
        // 172.18.0.4 is both api-1 and api: the container's own name wins.
        #expect(ask("4.0.18.172.in-addr.arpa", Wire.ptr, port: port)?.answers.map(\.text) == ["api-1.mynet."])
        // An explicit reverse map is obeyed.
        server.setRecords(network: "mynet", ["x": [ip("10.0.0.1")], "y": [ip("10.0.0.1")]], reverse: [ip("10.0.0.1"): "y"])
        #expect(ask("1.0.0.10.in-addr.arpa.", Wire.ptr, port: port)?.answers.map(\.text) == ["y.mynet."])
    }

    @Test func unknownNamesAreForwardedAndRelayedWithTheClientsID() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        let (server, port) = try serve(upstreams: [DNSUpstream(ip("127.0.0.1"), port: upstream.port)])
        defer { server.stop() }
        let m = try #require(ask("www.example.org", id: 0x4242, port: port))
        #expect(m.id == 0x4242)
        #expect(m.rcode == 0)
        // The CNAME chain arrives as the upstream wrote it.
        #expect(m.answers.map(\.type) == [Wire.cname, Wire.a])
        #expect(m.answers.map(\.text) == ["edge.example.net.", "198.51.100.7"])
        #expect(upstream.names == ["www.example.org."])
        // A PTR for an address that is not a container's goes upstream too.
        _ = ask("9.9.9.9.in-addr.arpa", Wire.ptr, port: port)
        #expect(upstream.names.last == "9.9.9.9.in-addr.arpa.")
    }

    @Test func deadUpstreamsGiveServfailInBoundedTime() throws {
        let silent = try FakeUpstream(.silent)
        defer { silent.stop() }
        let (server, port) = try serve(upstreams: [DNSUpstream(ip("127.0.0.1"), port: try deadPort()),
                                                   DNSUpstream(ip("127.0.0.1"), port: silent.port)], timeout: 300)
        defer { server.stop() }
        let start = monotonicMilliseconds()
        let m = try #require(ask("nowhere.example", id: 7, port: port))
        let elapsed = monotonicMilliseconds() - start
        #expect(m.id == 7)
        #expect(m.rcode == DNSRcode.serverFailure)
        #expect(m.questions == 1)
        #expect(silent.names == ["nowhere.example."])    // the refused one was skipped, the silent one tried
        // It waited for the silent one's timeout, and answered within the client's (2 s, in ask).
        #expect(elapsed >= 250, "\(elapsed) ms")
        // The server still answers its own names.
        #expect(ask("db", port: port)?.addresses == ["172.18.0.3"])
    }

    @Test func theNextUpstreamIsTriedWhenOneFails() throws {
        let failing = try FakeUpstream(.servfail), good = try FakeUpstream()
        defer { failing.stop(); good.stop() }
        let (server, port) = try serve(upstreams: [DNSUpstream(ip("127.0.0.1"), port: try deadPort()),
                                                   DNSUpstream(ip("127.0.0.1"), port: failing.port),
                                                   DNSUpstream(ip("127.0.0.1"), port: good.port)], timeout: 2000)
        defer { server.stop() }
        let m = try #require(ask("example.com", port: port))
        #expect(m.rcode == 0)
        #expect(m.addresses == ["198.51.100.7"])
        #expect(failing.names.count == 1 && good.names.count == 1)
    }

    @Test func queriesOverTCPAreAnsweredAndForwardedOverTCP() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        let (server, port) = try serve(upstreams: [DNSUpstream(ip("127.0.0.1"), port: upstream.port)])
        defer { server.stop() }
        // Two queries pipelined on one connection: one local, one forwarded.
        let answers = tcpExchange([Wire.query(id: 1, "web", type: Wire.a), Wire.query(id: 2, "far.example", type: Wire.a)], "127.0.0.1", port)
            .compactMap(Wire.parse)
        #expect(answers.count == 2)
        let byID = Dictionary(uniqueKeysWithValues: answers.map { ($0.id, $0) })
        #expect(byID[1]?.addresses == ["172.18.0.2"])
        #expect(byID[2]?.addresses == ["198.51.100.7"])
        #expect(upstream.names == ["far.example."])
    }

    @Test func largeAnswersAreTruncatedOverUDPAndCompleteOverTCP() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let many = (1...60).map { IPv4Address(0x0A00_0000 + UInt32($0)) }
        server.setRecords(network: "mynet", ["crowd": many])
        let udp = try #require(ask("crowd", port: port))
        #expect(udp.truncated)
        #expect(udp.answers.count > 20 && udp.answers.count < 60)
        let tcp = try #require(tcpExchange([Wire.query(id: 3, "crowd", type: Wire.a)], "127.0.0.1", port).first.flatMap(Wire.parse))
        #expect(!tcp.truncated)
        #expect(Set(tcp.addresses) == Set(many.map(\.description)))
    }

    @Test func malformedPacketsGetFormerrOrNothingAndTheServerKeepsAnswering() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let client = UDPClient(timeoutMilliseconds: 300)
        defer { client.close() }
        let header: [UInt8] = [0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let formerr: [[UInt8]] = [
            header + [0xC0, 12, 0, 1, 0, 1],                   // pointer to itself
            header + [3, 0x61, 0x62, 0x63, 0xC0, 16, 0, 1, 0, 1], // pointer forwards, into the question
            header + [5, 0x61, 0x62],                           // label runs past the end
            header + [3, 0x77, 0x65, 0x62, 0],                  // name but no type and class
            header + [0x41, 0, 0, 1, 0, 1],                     // extended label type
            [0xAB, 0xCD, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0] + Wire.labels("web") + [0, 1, 0, 1], // two questions
            [0xAB, 0xCD, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0],    // no question
            header + Array(repeating: [63] + Array(repeating: UInt8(0x61), count: 63), count: 5).flatMap { $0 } + [0, 0, 1, 0, 1], // name over 255
        ]
        for packet in formerr {
            let m = try #require(client.exchange(packet, "127.0.0.1", port).flatMap(Wire.parse), "\(packet)")
            #expect(m.id == 0xABCD)
            #expect(m.rcode == DNSRcode.formatError)
        }
        // An update (opcode 5) is not implemented.
        #expect(client.exchange([0, 9, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0] + Wire.labels("web") + [0, 1, 0, 1], "127.0.0.1", port)
            .flatMap(Wire.parse)?.rcode == DNSRcode.notImplemented)
        // Too short for a header, or a response: no answer at all.
        for packet: [UInt8] in [[], [1, 2, 3], [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0] + Wire.labels("web") + [0, 1, 0, 1]] {
            #expect(client.exchange(packet, "127.0.0.1", port) == nil)
        }
        // Random garbage: whatever comes back, the server lives.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let length = Int.random(in: 0...80, using: &rng)
            client.send((0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }, to: "127.0.0.1", port)
        }
        while client.receive() != nil {}
        // Broken TCP: a zero-length frame, then a connection cut mid-message.
        _ = tcpExchange([[]], "127.0.0.1", port)
        _ = tcpExchange([[0xAB]], "127.0.0.1", port)
        #expect(ask("web", port: port)?.addresses == ["172.18.0.2"])
        #expect(tcpExchange([Wire.query(id: 5, "db", type: Wire.a)], "127.0.0.1", port).first.flatMap(Wire.parse)?.addresses == ["172.18.0.3"])
    }

    @Test func networksOnTwoAddressesDoNotSeeEachOthersNames() throws {
        let upstream = try FakeUpstream(.nxdomain)
        defer { upstream.stop() }
        let server = try DNSServer(upstreams: [DNSUpstream(ip("127.0.0.1"), port: upstream.port)])
        defer { server.stop() }
        let portA = try server.listen(network: "front", address: ip("127.0.0.2"), port: 0)
        let portB = try server.listen(network: "back", address: ip("127.0.0.3"), port: 0)
        server.setRecords(network: "front", ["web": [ip("172.20.0.2")]])
        server.setRecords(network: "back", ["db": [ip("172.21.0.2")]])
        #expect(ask("web", port: portA, at: "127.0.0.2")?.addresses == ["172.20.0.2"])
        #expect(ask("db", port: portB, at: "127.0.0.3")?.addresses == ["172.21.0.2"])
        // Across: forwarded upstream, which knows nothing of either.
        #expect(ask("db", port: portA, at: "127.0.0.2")?.rcode == DNSRcode.nameError)
        #expect(ask("web", port: portB, at: "127.0.0.3")?.rcode == DNSRcode.nameError)
        #expect(ask("2.0.21.172.in-addr.arpa", Wire.ptr, port: portA, at: "127.0.0.2")?.rcode == DNSRcode.nameError)
        #expect(upstream.names == ["db.", "web.", "2.0.21.172.in-addr.arpa."])
    }

    @Test func stopListeningFreesTheAddressAtOnce() throws {
        let (server, port) = try serve()
        defer { server.stop() }
        server.stopListening(network: "mynet")
        let client = UDPClient(timeoutMilliseconds: 300)
        defer { client.close() }
        #expect(client.exchange(Wire.query(id: 1, "web", type: Wire.a), "127.0.0.1", port) == nil)
        // The same port binds again right away, and the records were kept.
        #expect(try server.listen(network: "mynet", address: ip("127.0.0.1"), port: port) == port)
        #expect(ask("web", port: port)?.addresses == ["172.18.0.2"])
        // A port in use is refused with the address in the message.
        let other = try DNSServer(upstreams: [])
        defer { other.stop() }
        #expect(throws: DNSServerError.self) { try other.listen(network: "x", address: ip("127.0.0.1"), port: port) }
        do { try other.listen(network: "x", address: ip("127.0.0.1"), port: port) } catch {
            #expect("\(error)" == "listen udp 127.0.0.1:\(port): bind: Address already in use")
        }
        server.stop()
        #expect(throws: DNSServerError.self) { try server.listen(network: "y", address: ip("127.0.0.1"), port: 0) }
    }

    @Test func throughputOfLocalAnswers() throws {
        // A figure for the report, not an assertion on speed.
        let (server, port) = try serve()
        defer { server.stop() }
        let client = UDPClient()
        defer { client.close() }
        let count = 5000
        let start = monotonicMilliseconds()
        var answered = 0
        for i in 0..<count {
            if let m = client.exchange(Wire.query(id: UInt16(i & 0xFFFF), "api", type: Wire.a), "127.0.0.1", port).flatMap(Wire.parse),
               m.id == UInt16(i & 0xFFFF), m.answers.count == 3 { answered += 1 }
        }
        let ms = max(1, monotonicMilliseconds() - start)
        print("DNS: \(count) sequential UDP queries answered locally in \(ms) ms (\(count * 1000 / ms) queries/s)")
        #expect(answered == count)
    }
}
