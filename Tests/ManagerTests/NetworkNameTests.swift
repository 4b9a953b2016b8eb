// Names (issue 7): containers on a user-defined network resolve each other by
// name, alias and compose service through berthd's name server on the
// gateway, several containers under one alias in rotating order; `--link`
// hosts entries and variables; the per-container /etc/hosts, /etc/resolv.conf
// and /etc/hostname with --hostname, --add-host, --dns, --dns-search and
// --dns-option. Real berthd, berth, CNI plugins and busybox's nslookup.
import Foundation
import Glibc
import Testing

@Suite(.serialized) struct NetworkNameTests {
    static let httpd = ["nt:1", "httpd", "-f", "-p", "80", "-h", "/www"]

    /// The addresses busybox nslookup printed for the name, in the order of the answer.
    static func addresses(_ out: String) -> [String] {
        let afterName = out.components(separatedBy: "Name:").dropFirst().joined()
        return afterName.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("Address") else { return nil }
            return line.split(separator: " ").last.map(String.init)
        }
    }

    @Test func containersResolveNamesAliasesAndServicesInRotatingOrder() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btname0", prefix: "10.232.40")
            defer { n.tearDown() }
            #expect(try n.berth(["network", "create", "--subnet", "10.232.41.0/24", "front"]).status == 0)
            _ = try n.runDetached(["--name", "web", "--network", "front"] + Self.httpd)
            // By name: the second container fetches from the first.
            var r = try n.berth(["run", "--rm", "--network", "front", "nt:1", "sh", "-c", "cat /etc/resolv.conf; wget -q -O - http://web/"])
            #expect(r.status == 0 && r.out.contains("nameserver 10.232.41.1\n") && r.out.hasSuffix("hello from nt\n"), "\(r)")

            // Three containers under one alias: three A records whose order rotates.
            var ips: [String] = []
            for i in 0..<3 {
                _ = try n.runDetached(["--name", "api\(i)", "--network", "front", "--network-alias", "api", "nt:1", "sleep", "1000"])
                ips.append(try n.inspect("api\(i)", "{{.NetworkSettings.Networks.front.IPAddress}}"))
            }
            r = try n.berth(["run", "--rm", "--network", "front", "nt:1", "sh", "-c", "nslookup -type=a api; echo ==; nslookup -type=a api"])
            let answers = r.out.components(separatedBy: "==\n").map(Self.addresses)
            #expect(r.status == 0 && answers.count == 2, "\(r)")
            if answers.count == 2 {
                #expect(Set(answers[0]) == Set(ips) && Set(answers[1]) == Set(ips), "\(answers) \(ips)")
                #expect(answers[0] != answers[1], "the order must rotate: \(answers)")
            }
            // A compose service name and a container name (any case, also as NAME.NETWORK) resolve too.
            _ = try n.runDetached(["--name", "pg", "--label", "com.docker.compose.service=db", "--network", "front", "nt:1", "sleep", "1000"])
            let pg = try n.inspect("pg", "{{.NetworkSettings.Networks.front.IPAddress}}")
            r = try n.berth(["run", "--rm", "--network", "front", "nt:1", "sh", "-c", "nslookup -type=a db; nslookup -type=a API1.front"])
            #expect(r.status == 0 && r.out.contains("Address: \(pg)") && r.out.contains("Address: \(ips[1])"), "\(r)")

            // A container that stops leaves the answers.
            #expect(try n.berth(["stop", "-t", "1", "api0"]).status == 0)
            r = try n.berth(["run", "--rm", "--network", "front", "nt:1", "sh", "-c", "nslookup -type=a api"])
            #expect(Set(Self.addresses(r.out)) == Set(ips.dropFirst()), "\(r)")
            // `network connect` makes a running container's name known on the new network.
            #expect(try n.berth(["network", "create", "--subnet", "10.232.42.0/24", "back"]).status == 0)
            _ = try n.runDetached(["--name", "late", "nt:1", "sleep", "1000"])
            #expect(try n.berth(["network", "connect", "--alias", "later", "back", "late"]).status == 0)
            let late = try n.inspect("late", "{{.NetworkSettings.Networks.back.IPAddress}}")
            r = try n.berth(["run", "--rm", "--network", "back", "nt:1", "sh", "-c", "nslookup -type=a later"])
            #expect(r.status == 0 && Self.addresses(r.out) == [late], "\(r)")

            // The default bridge has no name server of berthd's: the host's resolvers.
            r = try n.berth(["run", "--rm", "nt:1", "cat", "/etc/resolv.conf"])
            #expect(r.status == 0 && !r.out.contains("nameserver \(n.gateway)") && r.out.contains("nameserver "), "\(r)")
        }
    }

    @Test func linksGiveHostsEntriesAndVariables() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btname1", prefix: "10.232.43")
            defer { n.tearDown() }
            let id = try n.runDetached(["--name", "db", "-e", "SECRET=s3", "--expose", "5432", "--expose", "6000-6001/udp", "nt:1", "sleep", "1000"])
            let ip = try n.inspect("db", "{{.NetworkSettings.IPAddress}}")
            var r = try n.berth(["run", "--rm", "--name", "app", "--link", "db:database", "nt:1", "sh", "-c", "env; cat /etc/hosts"])
            #expect(r.status == 0, "\(r)")
            for line in ["DATABASE_PORT=tcp://\(ip):5432", "DATABASE_PORT_5432_TCP=tcp://\(ip):5432", "DATABASE_PORT_5432_TCP_ADDR=\(ip)",
                         "DATABASE_PORT_5432_TCP_PORT=5432", "DATABASE_PORT_5432_TCP_PROTO=tcp", "DATABASE_PORT_6000_UDP=udp://\(ip):6000",
                         "DATABASE_NAME=/app/database", "DATABASE_ENV_SECRET=s3", "\(ip)\tdatabase \(id.prefix(12)) db"] {
                #expect(r.out.contains(line + "\n"), "\(line) missing in \(r.out)")
            }
            // Without an alias the name is the alias.
            r = try n.berth(["run", "--rm", "--link", "db", "nt:1", "sh", "-c", "grep -c '\(ip)' /etc/hosts; env | grep -c ^DB_PORT="])
            #expect(r.out == "1\n1\n", "\(r)")
            // A stopped container and a missing one cannot be linked (Docker's messages); nothing is left.
            _ = try n.berth(["create", "--name", "off", "nt:1", "sleep", "1"])
            r = try n.berth(["run", "--rm", "--name", "me", "--link", "off:o", "nt:1", "true"])
            #expect(r.status == 125 && r.err.contains("Cannot link to a non running container: /off AS /me/o"), "\(r)")
            r = try n.berth(["run", "--name", "me2", "--link", "nosuch", "nt:1", "true"])
            #expect(r.status == 125 && r.err.contains("could not get container for nosuch"), "\(r)")
            let names = try n.berth(["ps", "-a", "--format", "{{.Names}}"]).out.split(separator: "\n").sorted()
            #expect(names == ["db", "off"], "\(names)")
        }
    }

    @Test func hostsResolvConfAndHostnameAreTheContainersOwn() async throws {
        try await offPool {
            let n = try NetworkTestDaemon(bridge: "btname2", prefix: "10.232.44")
            defer { n.tearDown() }
            var r = try n.berth(["run", "--rm", "--hostname", "box", "--add-host", "foo:10.1.2.3", "--add-host", "gw:host-gateway",
                                 "--dns", "10.0.0.9", "--dns-search", "example.org", "--dns-option", "ndots:2",
                                 "nt:1", "sh", "-c", "hostname; cat /etc/hostname; cat /etc/hosts; cat /etc/resolv.conf; ip -4 -o addr show eth0"])
            #expect(r.status == 0, "\(r)")
            let ip = r.out.components(separatedBy: "inet ").last?.split(separator: "/").first.map(String.init) ?? "?"
            #expect(r.out.hasPrefix("box\nbox\n127.0.0.1\tlocalhost\n"), "\(r)")
            for line in ["10.1.2.3\tfoo", "\(n.gateway)\tgw", "\(ip)\tbox", "nameserver 10.0.0.9", "search example.org", "options ndots:2"] {
                #expect(r.out.contains(line + "\n"), "\(line) missing in \(r.out)")
            }
            // The files live with the container's record, and are bind mounts (read-only with --read-only).
            let id = try n.runDetached(["--read-only", "nt:1", "sleep", "1000"])
            for name in ["hosts", "resolv.conf", "hostname"] {
                #expect(access(n.d.root + "/containers/" + id + "/" + name, R_OK) == 0, "\(name)")
            }
            #expect(try n.inspect(id, "{{.HostsPath}} {{.ResolvConfPath}} {{.HostnamePath}}")
                        == ["hosts", "resolv.conf", "hostname"].map { n.d.root + "/containers/" + id + "/" + $0 }.joined(separator: " "))
            r = try n.berth(["exec", id, "sh", "-c", "echo 1.2.3.4 x >> /etc/hosts"])
            #expect(r.status != 0 && r.err.contains("Read-only file system"), "\(r)")
            // --network none: no address of its own; host: the host's files.
            r = try n.berth(["run", "--rm", "--network", "none", "nt:1", "cat", "/etc/hosts"])
            #expect(r.status == 0 && !r.out.contains("10.232.") && r.out.hasPrefix("127.0.0.1\tlocalhost\n"), "\(r)")
            let hostFile = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
            r = try n.berth(["run", "--rm", "--network", "host", "nt:1", "cat", "/etc/hosts"])
            #expect(r.status == 0 && r.out == hostFile, "\(r)")
            // A bad --add-host is refused with Docker's words.
            r = try n.berth(["run", "--rm", "--add-host", "x:999.1.1.1", "nt:1", "true"])
            #expect(r.status == 125 && r.err.contains("invalid IP address in add-host: \"999.1.1.1\""), "\(r)")
        }
    }
}
