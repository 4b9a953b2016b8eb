// Published ports (issue 7) as a user sees them: busybox httpd in a container
// on the default bridge, fetched from the host; `port`, `ps`; conflicts with
// host sockets and other containers; teardown after exits and after a
// berthd killed with -9. Real berthd, berth, CNI plugins and iptables.
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct NetworkPortTests {
    static let httpd = ["nt:1", "httpd", "-f", "-p", "80", "-h", "/www"]

    @Test func publishedPortReachableOnLocalhostAndHostAddress() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btport0", prefix: "10.231.10")
            defer { n.tearDown() }
            let port = Subprocess.freePort()
            let id = try n.runDetached(["--name", "web", "-p", "\(port):80"] + Self.httpd)
            #expect(Subprocess.waitForPort(port), "nothing answers on 127.0.0.1:\(port)")
            #expect(NetworkHost.fetch("http://127.0.0.1:\(port)/") == "hello from nt\n")
            // The gateway is an address of the host (the bridge's): DNAT from there too.
            #expect(NetworkHost.fetch("http://\(n.gateway):\(port)/") == "hello from nt\n")
            // What Docker shows.
            #expect(try n.berth(["port", "web"]).out == "80/tcp -> 0.0.0.0:\(port)\n")
            #expect(try n.berth(["port", "web", "80"]).out == "0.0.0.0:\(port)\n")
            #expect(try n.berth(["ps", "--format", "{{.Ports}}"]).out == "0.0.0.0:\(port)->80/tcp\n")
            let ip = try n.inspect("web", "{{.NetworkSettings.IPAddress}}")
            #expect(ip.hasPrefix(n.prefix + ".") && ip != n.gateway, "\(ip)")
            #expect(try n.inspect("web", "{{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.Networks.bridge.IPAddress}}")
                        == "\(n.gateway) 24 \(ip)")
            #expect(try n.inspect("web", "{{json .NetworkSettings.Ports}}") == "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"\(port)\"}]}")
            #expect(try n.inspect("web", "{{.NetworkSettings.SandboxKey}}") == n.state + "/netns/" + id)
            // The server is reached directly on its address too.
            #expect(NetworkHost.fetch("http://\(ip):80/") == "hello from nt\n")
            #expect(!NetworkHost.rules(mentioning: [id]).isEmpty)

            // Stopped: the mapping, the address, the namespace go.
            #expect(try n.berth(["stop", "-t", "1", "web"]).status == 0)
            #expect(NetworkHost.fetch("http://127.0.0.1:\(port)/") == nil)
            #expect(NetworkHost.rules(mentioning: [id, ip + ":"]).isEmpty)
            #expect(NetworkHost.entries(n.state + "/netns").isEmpty)
            #expect(NetworkHost.leases(n.state).isEmpty)
            #expect(try n.inspect("web", "{{.NetworkSettings.IPAddress}}|{{json .NetworkSettings.Ports}}") == "|{}")
            #expect(try n.berth(["port", "web"]).out == "")
            // And back on start (a new address may come; the port is the same).
            #expect(try n.berth(["start", "web"]).status == 0)
            #expect(Subprocess.waitForPort(port))
            #expect(NetworkHost.fetch("http://127.0.0.1:\(port)/") == "hello from nt\n")

            // On one host address only.
            let local = Subprocess.freePort()
            _ = try n.runDetached(["--name", "local", "-p", "127.0.0.1:\(local):80"] + Self.httpd)
            #expect(Subprocess.waitForPort(local))
            #expect(try n.berth(["port", "local"]).out == "80/tcp -> 127.0.0.1:\(local)\n")
            #expect(NetworkHost.fetch("http://127.0.0.1:\(local)/") == "hello from nt\n")
            #expect(NetworkHost.fetch("http://\(n.gateway):\(local)/") == nil)
        }
    }

    @Test func randomPortsRangesUdpAndPublishAll() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btport1", prefix: "10.231.11")
            defer { n.tearDown() }
            // -p 80: a port chosen by berthd, shown by `port`.
            _ = try n.runDetached(["--name", "rand", "-p", "80"] + Self.httpd)
            let shown = try n.berth(["port", "rand", "80/tcp"]).out
            #expect(shown.hasPrefix("0.0.0.0:"), "\(shown)")
            let port = Int(shown.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(port > 0)
            #expect(Subprocess.waitForPort(port))
            #expect(NetworkHost.fetch("http://127.0.0.1:\(port)/") == "hello from nt\n")

            // A range, port by port; and UDP.
            let base = 40000 + Int.random(in: 0..<2000) * 8
            _ = try n.runDetached(["--name", "ranges", "-p", "\(base)-\(base + 2):80-82", "-p", "\(base + 5):90/udp", "nt:1", "sleep", "100"])
            #expect(try n.berth(["port", "ranges"]).out
                        == "80/tcp -> 0.0.0.0:\(base)\n81/tcp -> 0.0.0.0:\(base + 1)\n82/tcp -> 0.0.0.0:\(base + 2)\n90/udp -> 0.0.0.0:\(base + 5)\n")
            #expect(try n.berth(["port", "ranges", "90/udp"]).out == "0.0.0.0:\(base + 5)\n")
            // berthd holds the UDP port: no host process can take it.
            #expect(!NetworkHost.udpBindable(base + 5))
            let ps = try n.berth(["ps", "--filter", "name=ranges", "--format", "{{.Ports}}"]).out
            for m in ["0.0.0.0:\(base)->80/tcp", "0.0.0.0:\(base + 1)->81/tcp", "0.0.0.0:\(base + 2)->82/tcp", "0.0.0.0:\(base + 5)->90/udp"] {
                #expect(ps.contains(m), "\(ps)")
            }
            #expect(try n.berth(["rm", "-f", "ranges"]).status == 0)
            #expect(NetworkHost.udpBindable(base + 5))

            // -P: every exposed port on a random host port.
            _ = try n.runDetached(["--name", "all", "--expose", "80", "--expose", "7070/udp", "-P"] + Self.httpd)
            let lines = try n.berth(["port", "all"]).out.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].hasPrefix("7070/udp -> 0.0.0.0:") == false, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("80/tcp -> 0.0.0.0:") } && lines.contains { $0.hasPrefix("7070/udp -> 0.0.0.0:") }, "\(lines)")
            let allPort = Int(try n.berth(["port", "all", "80"]).out.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            #expect(Subprocess.waitForPort(allPort))
            #expect(NetworkHost.fetch("http://127.0.0.1:\(allPort)/") == "hello from nt\n")
        }
    }

    @Test func takenHostPortFailsTheStartAndLeavesNothing() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btport2", prefix: "10.231.12")
            defer { n.tearDown() }
            let before = NetworkHost.rules(mentioning: [n.bridge, n.prefix + "."])

            // A host process listens on the port.
            let port = Subprocess.freePort()
            let s = NetworkHost.listen(port: port)
            #expect(s >= 0)
            defer { close(s) }
            var r = try n.berth(["run", "-d", "--name", "clash", "-p", "\(port):80"] + Self.httpd)
            #expect(r.status == 125, "\(r)")
            let first = r.err.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.hasPrefix("berth: Error response from daemon: driver failed programming external connectivity on endpoint clash (")
                    && first.hasSuffix("): Error starting userland proxy: listen tcp4 0.0.0.0:\(port): bind: address already in use"), "\(r.err)")
            let clashID = try n.inspect("clash", "{{.Id}}")
            #expect(try n.inspect("clash", "{{.State.Status}}") == "created")

            // Another container holds it.
            let port2 = Subprocess.freePort()
            _ = try n.runDetached(["--name", "holder", "-p", "\(port2):80"] + Self.httpd)
            r = try n.berth(["run", "-d", "--name", "second", "-p", "\(port2):80"] + Self.httpd)
            #expect(r.status == 125 && r.err.contains("driver failed programming external connectivity on endpoint second (")
                    && r.err.contains("): Bind for 0.0.0.0:\(port2) failed: port is already allocated"), "\(r.err)")
            let secondID = try n.inspect("second", "{{.Id}}")
            // The holder still serves; the failed ones left nothing.
            #expect(Subprocess.waitForPort(port2))
            #expect(NetworkHost.fetch("http://127.0.0.1:\(port2)/") == "hello from nt\n")
            #expect(NetworkHost.rules(mentioning: [clashID, secondID]).isEmpty)
            #expect(NetworkHost.entries(n.state + "/netns") == [try n.inspect("holder", "{{.Id}}")])
            #expect(NetworkHost.leases(n.state).count == 1)
            #expect(try n.berth(["rm", "-f", "holder"]).status == 0)
            #expect(NetworkHost.rules(mentioning: [n.bridge, n.prefix + "."]) == before)
            #expect(NetworkHost.entries(n.state + "/netns").isEmpty && NetworkHost.leases(n.state).isEmpty)
        }
    }

    @Test func killedBerthdLeavesNothingAfterStopAndRemove() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btport3", prefix: "10.231.13")
            defer { n.tearDown() }
            let before = NetworkHost.rules(mentioning: [n.bridge, n.prefix + "."])
            let port = Subprocess.freePort()
            let id = try n.runDetached(["--name", "survivor", "-p", "\(port):80"] + Self.httpd)
            let ip = try n.inspect("survivor", "{{.NetworkSettings.IPAddress}}")
            #expect(Subprocess.waitForPort(port))

            // berthd dies; the container (its shim) does not.
            kill(n.d.process!.processIdentifier, SIGKILL)
            n.d.process!.waitUntilExit()
            #expect(NetworkHost.fetch("http://127.0.0.1:\(port)/") == "hello from nt\n")
            let config = n.d.dir + "/berthd.json"
            try n.d.start(["--config", config])
            // The new berthd holds the port again: a second container cannot take it.
            let r = try n.berth(["run", "-d", "--name", "thief", "-p", "\(port):80"] + Self.httpd)
            #expect(r.status == 125 && r.err.contains("port is already allocated"), "\(r.err)")
            #expect(try n.berth(["port", "survivor"]).out == "80/tcp -> 0.0.0.0:\(port)\n")
            #expect(try n.berth(["stop", "-t", "1", "survivor"]).status == 0)
            #expect(try n.berth(["rm", "survivor", "thief"]).status == 0)
            #expect(NetworkHost.rules(mentioning: [n.bridge, n.prefix + "."]) == before)
            #expect(NetworkHost.rules(mentioning: [id, ip + ":"]).isEmpty)
            #expect(NetworkHost.entries(n.state + "/netns").isEmpty)
            #expect(NetworkHost.leases(n.state).isEmpty)
        }
    }

    @Test func leftoversOfACrashAreReconciled() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btport4", prefix: "10.231.14")
            defer { n.tearDown() }
            let id = try n.runDetached(["--name", "gone", "-p", "80", "nt:1", "sleep", "1000"])
            let ip = try n.inspect("gone", "{{.NetworkSettings.IPAddress}}")
            // berthd dies, then the container's shim and process die too (as at a crash):
            // the next berthd finds the record running, the task gone, the network set up.
            let shimPid = Int32(try n.inspect("gone", "{{.State.Pid}}")) ?? 0
            kill(n.d.process!.processIdentifier, SIGKILL)
            n.d.process!.waitUntilExit()
            // The shim's pid is in its bundle (shim.json).
            let shimJSON = String(decoding: try Subprocess.readAll(n.state + "/containers/" + id + "/shim.json"), as: UTF8.self)
            let shim = shimJSON.split(separator: ",").first { $0.contains("\"pid\"") }
                .flatMap { Int32($0.split(separator: ":").last!.trimmingCharacters(in: CharacterSet(charactersIn: " }\n"))) } ?? 0
            #expect(shim > 0, "\(shimJSON)")
            if shim > 0 { kill(shim, SIGKILL) }
            if shimPid > 0 { kill(shimPid, SIGKILL) }
            usleep(300_000)
            try n.d.start(["--config", n.d.dir + "/berthd.json"])
            try waitUntil("the container to be seen exited") { (try? n.inspect("gone", "{{.State.Status}}")) == "exited" }
            #expect(NetworkHost.rules(mentioning: [id, ip + ":"]).isEmpty)
            #expect(NetworkHost.entries(n.state + "/netns").isEmpty)
            #expect(NetworkHost.leases(n.state).isEmpty)
        }
    }
}
