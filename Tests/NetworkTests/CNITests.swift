// CNI invocation against Debian's real plugins (host-local needs no
// namespace: it only hands out addresses), the port reservations with real
// sockets, and the per-network rules.
import Foundation
import Glibc
import OCI
import Testing
@testable import Network

@Suite struct CNITests {
    /// Runs the plugin for real with Foundation's Process (berthd uses its HostCommand).
    static let cni = CNI(runner: { path, env, input in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.environment = Dictionary(uniqueKeysWithValues: env.map { e in
            let kv = e.split(separator: "=", maxSplits: 1).map(String.init)
            return (kv[0], kv.count > 1 ? kv[1] : "")
        })
        let inp = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = inp; p.standardOutput = out; p.standardError = err
        try p.run()
        inp.fileHandleForWriting.write(Data(input))
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, Array(o), String(decoding: e, as: UTF8.self))
    })

    static func ipamConfig(_ dataDir: String, subnet: String = "10.250.7.0/24") -> JSONValue {
        // Run on its own, host-local reads its part of a network configuration: "ipam".
        ["cniVersion": "1.0.0", "name": "cnitest", "type": "host-local",
         "ipam": ["type": "host-local", "ranges": [[["subnet": .string(subnet), "gateway": "10.250.7.1"]]], "dataDir": .string(dataDir)]]
    }

    @Test func hostLocalAddsAndDeletesALease() throws {
        try #require(access("/usr/lib/cni/host-local", X_OK) == 0, "containernetworking-plugins is needed")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cni-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let att = CNI.Attachment(containerID: "c0ffee", netns: "/proc/self/ns/net", ifname: "eth0")
        let result = try #require(try Self.cni.invoke(.add, Self.ipamConfig(dir), att))
        let got = try CNIResult(parsing: result, ifname: "eth0")
        // The gateway is never handed out: the first address is .2.
        #expect(got.address.description == "10.250.7.2" && got.prefixLength == 24 && got.gateway?.description == "10.250.7.1")
        let lease = dir + "/cnitest/10.250.7.2"
        #expect(String(decoding: FileManager.default.contents(atPath: lease) ?? Data(), as: UTF8.self).hasPrefix("c0ffee"))
        // A fixed address through CNI_ARGS.
        var fixed = att
        fixed.containerID = "beef"
        fixed.args = "IgnoreUnknown=1;IP=10.250.7.77"
        let r2 = try CNIResult(parsing: try #require(try Self.cni.invoke(.add, Self.ipamConfig(dir), fixed)), ifname: "eth0")
        #expect(r2.address.description == "10.250.7.77")
        try Self.cni.invoke(.del, Self.ipamConfig(dir), att)
        try Self.cni.invoke(.del, Self.ipamConfig(dir), fixed)
        #expect(access(lease, F_OK) != 0)
    }

    @Test func pluginErrorsAreOneLine() throws {
        try #require(access("/usr/lib/cni/host-local", X_OK) == 0, "containernetworking-plugins is needed")
        let att = CNI.Attachment(containerID: "c0ffee", netns: "/proc/self/ns/net", ifname: "eth0")
        do {
            try Self.cni.invoke(.add, Self.ipamConfig("/tmp/nonexistent-cni", subnet: "10.250.7.0/33"), att)
            Issue.record("a bad subnet was accepted")
        } catch {
            #expect(error.message.hasPrefix("plugin type=\"host-local\" failed (add): ") && !error.message.contains("\n"), "\(error.message)")
            #expect(error.message.contains("10.250.7.0/33"), "\(error.message)")
        }
        do {
            try Self.cni.invoke(.add, ["cniVersion": "1.0.0", "name": "x", "type": "nosuchplugin"], att)
            Issue.record("a missing plugin was run")
        } catch {
            #expect(error.message.hasPrefix("failed to find plugin \"nosuchplugin\" in path"), "\(error.message)")
        }
    }

    @Test func bridgeConfigurationsFollowTheNetwork() throws {
        let net = BridgeNetwork(name: "id1", bridge: "br-x", subnet: IPv4Subnet("10.1.0.0/16")!, gateway: IPv4Address("10.1.0.1")!,
                                isInternal: false, ipamDataDir: "/run/berth/networks")
        let c = net.bridgePlugin
        #expect(c["type"]?.stringValue == "bridge" && c["bridge"]?.stringValue == "br-x" && c["ipMasq"]?.boolValue == false)
        #expect(c["isGateway"]?.boolValue == true && c["ipam"]?["routes"] != nil)
        var sealed = net
        sealed.isInternal = true
        #expect(sealed.bridgePlugin["isGateway"]?.boolValue == false && sealed.bridgePlugin["ipam"]?["routes"] == nil)
        let pm = net.portmapPlugin([PublishedPort(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp")], prevResult: ["ips": []])
        #expect(JSONWriter.write(pm["runtimeConfig"]!) == #"{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}]}"#)
        #expect(pm["prevResult"] != nil && pm["snat"]?.boolValue == true)
    }

    @Test func firewallRulesIsolateAndSealInternalNetworks() {
        let subnet = IPv4Subnet("10.1.0.0/16")!
        let open = Firewall.rules(bridge: "br-a", subnet: subnet, internal: false).map { ($0.table, $0.chain, $0.spec.joined(separator: " ")) }
        #expect(open.contains { $0 == ("nat", "POSTROUTING", "-s 10.1.0.0/16 ! -o br-a -j MASQUERADE") })
        #expect(open.contains { $0 == ("filter", Firewall.stage2, "-o br-a -j DROP") })
        let sealed = Firewall.rules(bridge: "br-b", subnet: subnet, internal: true).map { ($0.table, $0.chain, $0.spec.joined(separator: " ")) }
        #expect(!sealed.contains { $0.0 == "nat" })
        #expect(sealed.contains { $0 == ("filter", Firewall.stage1, "-i br-b ! -o br-b -j DROP") })
        #expect(Firewall.rules(bridge: "br-b", subnet: subnet, internal: true)[0].arguments("-I") == ["-w", "-t", "filter", "-I", Firewall.stage1, "1", "-i", "br-b", "!", "-o", "br-b", "-j", "DROP"])
    }
}

@Suite struct PortReservationTests {
    @Test func portsAreHeldUntilReleased() throws {
        let ports = PortReservations()
        let got = try ports.reserve("a", [.init(hostIP: "", hostPortLow: 0, hostPortHigh: 0, containerPort: 80, proto: "tcp")])
        let port = try #require(got.first?.hostPort)
        #expect(port > 0)
        // The same port for another container of this berthd: Docker's allocator message.
        do {
            _ = try ports.reserve("b", [.init(hostIP: "127.0.0.1", hostPortLow: port, hostPortHigh: port, containerPort: 80, proto: "tcp")])
            Issue.record("a held port was given twice")
        } catch {
            #expect(error.message == "Bind for 127.0.0.1:\(port) failed: port is already allocated")
        }
        // A range skips the held port.
        let next = try ports.reserve("b", [.init(hostIP: "", hostPortLow: port, hostPortHigh: port + 1, containerPort: 81, proto: "udp")])
        #expect(next.first?.hostPort == port)  // UDP is another port space
        ports.release("a")
        ports.release("b")
        // Released: a host socket can take it.
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(bound == 0 && listen(s, 1) == 0)
        // Now the host holds it: the kernel's refusal in Docker's words, and nothing is held.
        do {
            _ = try ports.reserve("c", [.init(hostIP: "", hostPortLow: port, hostPortHigh: port, containerPort: 80, proto: "tcp"),
                                        .init(hostIP: "", hostPortLow: 0, hostPortHigh: 0, containerPort: 81, proto: "tcp")])
            Issue.record("a port a host socket listens on was taken")
        } catch {
            #expect(error.message == "Error starting userland proxy: listen tcp4 0.0.0.0:\(port): bind: address already in use")
        }
    }
}
