// User-defined networks and the network modes (issue 7): containers on one
// network reach each other, two networks are isolated, an internal network
// has no way out, rm is refused while in use and leaves nothing, connect and
// disconnect on a running container, none/host/container: modes, and the
// network commands' output. Real berthd, berth, CNI plugins and iptables.
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct NetworkUserTests {
    static let httpd = ["nt:1", "httpd", "-f", "-p", "80", "-h", "/www"]

    @Test func containersOnOneNetworkTalkAndNetworksAreIsolated() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btuser0", prefix: "10.232.10")
            defer { n.tearDown() }
            #expect(try n.berth(["network", "create", "--subnet", "10.232.11.0/24", "front"]).status == 0)
            #expect(try n.berth(["network", "create", "--subnet", "10.232.12.0/24", "--gateway", "10.232.12.254", "back"]).status == 0)
            _ = try n.runDetached(["--name", "srv", "--network", "front", "--network-alias", "web"] + Self.httpd)
            let ip = try n.inspect("srv", "{{.NetworkSettings.Networks.front.IPAddress}}")
            #expect(ip.hasPrefix("10.232.11."), "\(ip)")
            #expect(try n.inspect("srv", "{{.NetworkSettings.Networks.front.Gateway}} {{.NetworkSettings.Networks.front.Aliases}}")
                        == "10.232.11.1 [web]")
            // Same network: reached by address.
            var r = try n.berth(["run", "--rm", "--network", "front", "nt:1", "wget", "-q", "-O", "-", "http://\(ip)/"])
            #expect(r.status == 0 && r.out == "hello from nt\n", "\(r)")
            // Another network: the address is not reachable (isolation), nor from the default bridge.
            r = try n.berth(["run", "--rm", "--network", "back", "nt:1", "sh", "-c", "ip route; nc -w 2 \(ip) 80 </dev/null"])
            #expect(r.status != 0 && r.out.contains("default via 10.232.12.254"), "\(r)")
            r = try n.berth(["run", "--rm", "nt:1", "nc", "-w", "2", ip, "80"])
            #expect(r.status != 0, "\(r)")
            // --ip: a fixed address; outside the subnet it is refused.
            r = try n.berth(["run", "--rm", "--network", "back", "--ip", "10.232.12.77", "nt:1", "ip", "-4", "-o", "addr", "show", "eth0"])
            #expect(r.status == 0 && r.out.contains("inet 10.232.12.77/24"), "\(r)")
            r = try n.berth(["run", "--rm", "--network", "back", "--ip", "10.9.9.9", "nt:1", "true"])
            #expect(r.status == 125 && r.err.contains("Invalid address 10.9.9.9: It does not belong to any of this network's subnets"), "\(r)")
            r = try n.berth(["run", "--rm", "--network-alias", "x", "nt:1", "true"])
            #expect(r.status == 125 && r.err.contains("network-scoped alias is supported only for containers in user defined networks"), "\(r)")
            r = try n.berth(["run", "--rm", "--network", "nosuch", "nt:1", "true"])
            #expect(r.status == 125 && r.err.contains("network nosuch not found"), "\(r)")
        }
    }

    @Test func internalNetworkHasNoWayOut() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btuser1", prefix: "10.232.20")
            defer { n.tearDown() }
            #expect(try n.berth(["network", "create", "--internal", "--subnet", "10.232.21.0/24", "sealed"]).status == 0)
            #expect(try n.berth(["network", "inspect", "-f", "{{.Internal}}", "sealed"]).out == "true\n")
            var r = try n.berth(["run", "--rm", "--network", "sealed", "nt:1", "sh", "-c", "ip route; ping -c 1 -W 1 \(n.gateway)"])
            #expect(r.status != 0 && !r.out.contains("default") && r.err.contains("Network is unreachable"), "\(r)")
            // Nothing from outside gets in either: the default network cannot reach it.
            _ = try n.runDetached(["--name", "inside", "--network", "sealed"] + Self.httpd)
            let ip = try n.inspect("inside", "{{.NetworkSettings.Networks.sealed.IPAddress}}")
            r = try n.berth(["run", "--rm", "nt:1", "nc", "-w", "2", ip, "80"])
            #expect(r.status != 0, "\(r)")
            // Inside, containers still talk.
            r = try n.berth(["run", "--rm", "--network", "sealed", "nt:1", "wget", "-q", "-O", "-", "http://\(ip)/"])
            #expect(r.status == 0 && r.out == "hello from nt\n", "\(r)")
        }
    }

    @Test func removeIsRefusedWhileInUseAndLeavesNothing() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btuser2", prefix: "10.232.30")
            defer { n.tearDown() }
            let before = NetworkHost.rules(mentioning: ["10.232.31."])
            let id = try n.berth(["network", "create", "--subnet", "10.232.31.0/24", "--label", "team=a", "busy"]).out
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let bridge = "br-" + id.prefix(12)
            #expect(NetworkHost.interfaceExists(bridge))
            #expect(Subprocess.run(["ip", "-4", "-o", "addr", "show", bridge]).output.contains("inet 10.232.31.1/24"))
            #expect(!NetworkHost.rules(mentioning: [bridge]).isEmpty)
            _ = try n.runDetached(["--name", "user", "--network", "busy", "nt:1", "sleep", "1000"])
            var r = try n.berth(["network", "rm", "busy"])
            #expect(r.status == 1 && r.err == "Error response from daemon: error while removing network: network busy id \(id) has active endpoints\n", "\(r)")
            // The inspect lists the container with its address.
            let cid = try n.inspect("user", "{{.Id}}")
            let ip = try n.inspect("user", "{{.NetworkSettings.Networks.busy.IPAddress}}")
            let containers = try n.inspectJSON("busy", ".Containers", network: true) as? [String: [String: String]]
            #expect(containers?.count == 1 && containers?[cid]?["Name"] == "user" && containers?[cid]?["IPv4Address"] == ip + "/24", "\(String(describing: containers))")
            #expect(try n.berth(["rm", "-f", "user"]).status == 0)
            r = try n.berth(["network", "rm", "busy"])
            #expect(r.status == 0 && r.out == "busy\n", "\(r)")
            #expect(!NetworkHost.interfaceExists(bridge))
            #expect(NetworkHost.rules(mentioning: [bridge]).isEmpty)
            #expect(NetworkHost.rules(mentioning: ["10.232.31."]) == before)
            #expect(NetworkHost.leases(n.state).isEmpty)
            r = try n.berth(["network", "rm", "bridge"])
            #expect(r.status == 1 && r.err == "Error response from daemon: bridge is a pre-defined network and cannot be removed\n", "\(r)")
        }
    }

    @Test func connectAndDisconnectARunningContainer() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btuser3", prefix: "10.232.40")
            defer { n.tearDown() }
            #expect(try n.berth(["network", "create", "--subnet", "10.232.41.0/24", "extra"]).status == 0)
            _ = try n.runDetached(["--name", "peer", "--network", "extra"] + Self.httpd)
            let peer = try n.inspect("peer", "{{.NetworkSettings.Networks.extra.IPAddress}}")
            _ = try n.runDetached(["--name", "mover", "nt:1", "sleep", "1000"])
            // Not on "extra" yet: the peer is out of reach.
            var r = try n.berth(["exec", "mover", "nc", "-w", "2", peer, "80"])
            #expect(r.status != 0)
            r = try n.berth(["network", "connect", "--alias", "mv", "extra", "mover"])
            #expect(r.status == 0 && r.out.isEmpty, "\(r)")
            r = try n.berth(["exec", "mover", "ip", "-4", "-o", "addr"])
            #expect(r.out.contains("eth0") && r.out.contains("inet \(n.prefix).") && r.out.contains("eth1") && r.out.contains("inet 10.232.41."), "\(r)")
            r = try n.berth(["exec", "mover", "wget", "-q", "-O", "-", "http://\(peer)/"])
            #expect(r.status == 0 && r.out == "hello from nt\n", "\(r)")
            #expect(try n.inspect("mover", "{{.NetworkSettings.Networks.extra.Aliases}}") == "[mv]")
            r = try n.berth(["network", "connect", "extra", "mover"])
            #expect(r.status == 1 && r.err.contains("endpoint with name mover already exists in network extra"), "\(r)")
            #expect(NetworkHost.leases(n.state).count == 3)

            r = try n.berth(["network", "disconnect", "extra", "mover"])
            #expect(r.status == 0, "\(r)")
            r = try n.berth(["exec", "mover", "ip", "-4", "-o", "addr"])
            #expect(!r.out.contains("eth1") && !r.out.contains("10.232.41."), "\(r)")
            #expect(try n.inspect("mover", "{{len .NetworkSettings.Networks}}") == "1")
            #expect(NetworkHost.leases(n.state).count == 2)
            r = try n.berth(["network", "disconnect", "extra", "mover"])
            #expect(r.status == 1 && r.err.contains("is not connected to network extra"), "\(r)")

            // A created container: connect adds the network for its start.
            #expect(try n.berth(["create", "--name", "later", "nt:1", "sleep", "1000"]).status == 0)
            #expect(try n.berth(["network", "connect", "extra", "later"]).status == 0)
            #expect(try n.berth(["start", "later"]).status == 0)
            r = try n.berth(["exec", "later", "ip", "-4", "-o", "addr"])
            #expect(r.out.contains("inet \(n.prefix).") && r.out.contains("inet 10.232.41."), "\(r)")
        }
    }

    @Test func noneHostAndContainerModes() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btuser4", prefix: "10.232.50")
            defer { n.tearDown() }
            var r = try n.berth(["run", "--rm", "--network", "none", "nt:1", "ip", "-o", "link"])
            let links = r.out.split(separator: "\n")
            #expect(r.status == 0 && links.count == 1 && links[0].contains(": lo:") && links[0].contains("UP"), "\(r)")
            // The runtime makes a none container's namespace; berthd pins none for it.
            _ = try n.runDetached(["--name", "loner", "--network", "none", "nt:1", "sleep", "1000"])
            #expect(NetworkHost.entries(n.state + "/netns").isEmpty)
            #expect(try n.inspect("loner", "{{.NetworkSettings.SandboxKey}}|{{.NetworkSettings.IPAddress}}") == "|")
            r = try n.berth(["exec", "loner", "ping", "-c", "1", "-W", "2", "127.0.0.1"])
            #expect(r.status == 0, "\(r)")
            #expect(try n.berth(["rm", "-f", "loner"]).status == 0)
            // host: the host's interfaces (its eth0-like uplink and this berthd's bridge).
            r = try n.berth(["run", "--rm", "--network", "host", "nt:1", "ip", "-o", "link"])
            #expect(r.status == 0 && r.out.contains(": \(n.bridge):"), "\(r)")
            // container:NAME shares the other's interfaces and address.
            _ = try n.runDetached(["--name", "owner", "nt:1", "sleep", "1000"])
            let ip = try n.inspect("owner", "{{.NetworkSettings.IPAddress}}")
            r = try n.berth(["run", "--rm", "--network", "container:owner", "nt:1", "ip", "-4", "-o", "addr", "show", "eth0"])
            #expect(r.status == 0 && r.out.contains("inet \(ip)/24"), "\(r)")
            #expect((try n.inspectJSON("owner", ".NetworkSettings.Networks") as? [String: Any])?.keys.sorted() == ["bridge"])
        }
    }

    @Test func networkCommandsPrintAsDocker() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btuser5", prefix: "10.232.60")
            defer { n.tearDown() }
            let id = try n.berth(["network", "create", "--subnet", "10.232.61.0/24", "--label", "env=test", "alpha"]).out
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.count == 64)
            var r = try n.berth(["network", "create", "alpha"])
            #expect(r.status == 1 && r.err == "Error response from daemon: network with name alpha already exists\n", "\(r)")
            r = try n.berth(["network", "create", "--subnet", "10.232.61.128/25", "overlap"])
            #expect(r.status == 1 && r.err.contains("Pool overlaps with other one on this address space"), "\(r)")
            // Bad input: one line naming what is wrong, and no network, bridge or rule left.
            for (args, word) in [(["--subnet", "10.232.62.0/33"], "10.232.62.0/33"), (["--subnet", "10.232.63.0/24", "--gateway", "10.9.9.1"], "10.9.9.1"),
                                 (["--driver", "overlay"], "overlay"), ([String](), "bad name!")] {
                let name = word == "bad name!" ? word : "bad"
                r = try n.berth(["network", "create"] + args + [name])
                #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon: ") && r.err.contains(word)
                        && r.err.split(separator: "\n").count == 1, "\(args): \(r)")
            }
            #expect(try n.berth(["network", "ls", "-q", "--filter", "name=bad"]).out.isEmpty)
            #expect(!Subprocess.run(["ip", "-4", "-o", "addr"]).output.contains("10.232.63."), "no bridge was made for the refused subnet")
            r = try n.berth(["network", "ls"])
            let lines = r.out.split(separator: "\n").map(String.init)
            #expect(lines.first == "NETWORK ID     NAME      DRIVER    SCOPE", "\(r.out)")
            #expect(lines.contains("\(id.prefix(12))   alpha     bridge    local"), "\(r.out)")
            #expect(lines.contains { $0.hasSuffix("   bridge    bridge    local") } && lines.contains { $0.hasSuffix("   host      host      local") }
                    && lines.contains { $0.hasSuffix("   none      null      local") }, "\(r.out)")
            #expect(try n.berth(["network", "ls", "-q", "--filter", "name=alpha"]).out == id.prefix(12) + "\n")
            #expect(try n.berth(["network", "ls", "--filter", "label=env=test", "--format", "{{.Name}} {{.Driver}}"]).out == "alpha bridge\n")
            #expect(try n.berth(["network", "ls", "--filter", "driver=null", "--format", "{{.Name}}"]).out == "none\n")
            r = try n.berth(["network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Labels.env}} {{json .IPAM.Config}}", "alpha"])
            #expect(r.out == "alpha bridge local false test [{\"Subnet\":\"10.232.61.0/24\",\"Gateway\":\"10.232.61.1\"}]\n", "\(r)")
            #expect(try n.berth(["network", "inspect", "-f", "{{json .IPAM.Config}}", "bridge"]).out
                        == "[{\"Subnet\":\"\(n.subnet)\",\"Gateway\":\"\(n.gateway)\"}]\n")
            r = try n.berth(["network", "inspect", "nosuch"])
            #expect(r.status == 1 && r.err == "Error response from daemon: network nosuch not found\n", "\(r)")
            // prune: the unused custom network goes, the predefined ones stay.
            r = try n.berth(["network", "prune", "-f"])
            #expect(r.out == "Deleted Networks:\nalpha\n", "\(r)")
            #expect(try n.berth(["network", "ls", "-q"]).out.split(separator: "\n").count == 3)
        }
    }
}
