import Glibc
import OCI
import RPC
import Testing
@testable import berth

/// What `ps`, `stats`, `logs -t`, `events`, `port`, `diff` and `top` print,
/// against what Docker prints for the same data.
@Suite struct ContainerCLIFormatTests {
    static let id = "7cb5d2b9a7eab87f07182b5bf58936c9947890995b1b94f412912fa822a9ecb5"

    static func summary(command: String = "nginx -g 'daemon off;'", created: Int64 = 1000, state: String = "running",
                        status: String = "Up 45 seconds", ports: [BerthAPI.PortSummary] = [], names: [String] = ["/heuristic_roentgen"],
                        image: String = "nginx:alpine", labels: [String: String] = [:]) -> BerthAPI.ContainerSummary {
        BerthAPI.ContainerSummary(id: id, names: names, image: image, imageID: "sha256:" + String(repeating: "a", count: 64),
                                  command: command, created: created, state: state, status: status, ports: ports, labels: labels,
                                  sizeRw: 2, sizeRootFs: 4_261_000)
    }

    @Test func psTableAsDocker() throws {
        let rows = [Self.summary(ports: [BerthAPI.PortSummary(ip: "0.0.0.0", privatePort: 80, publicPort: 80)]),
                    Self.summary(command: "echo hello world", state: "exited", status: "Exited (0) 2 minutes ago", names: ["/percy"], image: "busybox")]
        let out = try PsOptions.render(rows, template: GoTemplate(ContainerRow.defaultFormat), trunc: true, now: 1047)
        #expect(out == """
            CONTAINER ID   IMAGE          COMMAND                  CREATED          STATUS                     PORTS                NAMES
            7cb5d2b9a7ea   nginx:alpine   "nginx -g 'daemon of…"   47 seconds ago   Up 45 seconds              0.0.0.0:80->80/tcp   heuristic_roentgen
            7cb5d2b9a7ea   busybox        "echo hello world"       47 seconds ago   Exited (0) 2 minutes ago                        percy

            """)
        // An empty list is the header alone.
        #expect(try PsOptions.render([], template: GoTemplate(ContainerRow.defaultFormat), trunc: true, now: 0)
                == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n")
    }

    @Test func noTruncKeepsIDAndCommand() throws {
        let row = ContainerRow(summary: Self.summary(), trunc: false, now: 1000)
        #expect(row.id == Self.id)
        #expect(row.command == "\"nginx -g 'daemon off;'\"")
        #expect(ContainerRow(summary: Self.summary(image: "busybox@sha256:" + String(repeating: "b", count: 64)), trunc: true, now: 0).image == "busybox")
        #expect(ContainerRow(summary: Self.summary(image: "sha256:" + String(repeating: "c", count: 64)), trunc: true, now: 0).image == "cccccccccccc")
    }

    @Test func commandQuotingAsGo() {
        #expect(ContainerRow.goQuote("sh -c \"echo hi\"") == #""sh -c \"echo hi\"""#)
        #expect(ContainerRow.goQuote("a\tb\nc\\") == #""a\tb\nc\\""#)
        #expect(ContainerRow.goQuote("\u{01}é") == #""\x01é""#)
        #expect(ContainerRow.ellipsis("12345678901234567890", 20) == "12345678901234567890")
        #expect(ContainerRow.ellipsis("123456789012345678901", 20) == "1234567890123456789…")
    }

    @Test func namesWithoutLinksUnlessNoTrunc() {
        let s = Self.summary(names: ["/other/db", "/db"])
        #expect(ContainerRow(summary: s, trunc: true, now: 0).names == "db")
        #expect(ContainerRow(summary: s, trunc: false, now: 0).names == "other/db,db")
    }

    @Test func portsGroupedAsDocker() {
        func p(_ ip: String?, _ priv: Int, _ pub: Int?, _ type: String = "tcp") -> BerthAPI.PortSummary {
            BerthAPI.PortSummary(ip: ip, privatePort: priv, publicPort: pub, type: type)
        }
        #expect(ContainerRow.displayablePorts([]) == "")
        #expect(ContainerRow.displayablePorts([p(nil, 80, nil), p(nil, 443, nil)]) == "80/tcp, 443/tcp")
        #expect(ContainerRow.displayablePorts([p(nil, 8001, nil), p(nil, 8000, nil), p(nil, 8002, nil, "udp")]) == "8000-8001/tcp, 8002/udp")
        #expect(ContainerRow.displayablePorts([p("0.0.0.0", 8000, 8000), p("0.0.0.0", 8001, 8001)]) == "0.0.0.0:8000-8001->8000-8001/tcp")
        #expect(ContainerRow.displayablePorts([p("0.0.0.0", 80, 8080), p("::", 80, 8080)]) == "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp")
        #expect(ContainerRow.displayablePorts([p("127.0.0.1", 53, 53, "udp"), p(nil, 80, nil)]) == "127.0.0.1:53->53/udp, 80/tcp")
    }

    @Test func formatTemplatesSeeDockersFields() throws {
        let s = Self.summary(labels: ["com.example.tier": "web", "a": "1"])
        let rows = [s]
        let t1 = try GoTemplate("{{.ID}} {{.Names}} {{.State}} {{.Size}} {{.Labels}}")
        #expect(try PsOptions.render(rows, template: t1, trunc: true, now: 0) == "7cb5d2b9a7ea heuristic_roentgen running 2B (virtual 4.26MB) a=1,com.example.tier=web\n")
        let (rewritten, labelMap) = ContainerRow.rewriteLabelCalls("table {{.Names}}\t{{.Label \"com.example.tier\"}}")
        #expect(labelMap)
        #expect(try PsOptions.render(rows, template: GoTemplate(rewritten), trunc: true, labelMap: true, now: 0)
                == "NAMES                LABEL\nheuristic_roentgen   web\n")
        let json = try PsOptions.render(rows, template: GoTemplate("{{json .}}"), trunc: true, now: 1060)
        #expect(json.hasPrefix(#"{"Command":"\"nginx -g 'daemon of…\"","CreatedAt":""#), "\(json)")
        #expect(json.contains(#""ID":"7cb5d2b9a7ea","Image":"nginx:alpine""#) && json.contains(#""RunningFor":"About a minute ago""#))
        #expect(!json.contains("LabelMap"))
    }

    @Test func statsColumnsAsDocker() throws {
        let prev = BerthAPI.ContainerStats(id: Self.id, name: "/web", read: "", cpuTotal: 1_000_000_000, systemCPU: 100_000_000_000,
                                           onlineCPUs: 2, memoryUsage: 0, memoryLimit: 0, pids: 1, blockRead: 0, blockWrite: 0)
        let cur = BerthAPI.ContainerStats(id: Self.id, name: "/web", read: "", cpuTotal: 1_500_000_000, systemCPU: 102_000_000_000,
                                          onlineCPUs: 2, memoryUsage: 1_572_864, memoryLimit: 2_087_354_368, pids: 3,
                                          blockRead: 4096, blockWrite: 0, netRx: 1_234, netTx: 648)
        let row = StatsRow(current: cur, previous: prev)
        #expect(row.cpuPercent == 50)
        var t = TableWriter()
        let template = try GoTemplate(StatsRow.defaultFormat)
        t.add(line: try template.header(titles: StatsRow.titles))
        t.add(line: try template.render(row.json))
        #expect(t.render() == """
            CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O         BLOCK I/O    PIDS
            7cb5d2b9a7ea   web       50.00%    1.5MiB / 1.944GiB   0.08%     1.23kB / 648B   4.1kB / 0B   3

            """)
        // One sample: no CPU figure yet.
        #expect(StatsRow(current: cur, previous: nil).json["CPUPerc"] == "0.00%")
    }

    @Test func logTimestampsAsDocker() {
        var p = LogPrinter(timestamps: true)
        let r1 = BerthAPI.LogRecord(stream: "stdout", time: "2024-01-02T03:04:05.12Z", log: "partial ")
        let r2 = BerthAPI.LogRecord(stream: "stdout", time: "2024-01-02T03:04:06.000000001Z", log: "line\n")
        let r3 = BerthAPI.LogRecord(stream: "stdout", time: "2024-01-02T03:04:07Z", log: "next\n")
        #expect(p.format(r1) == "2024-01-02T03:04:05.120000000Z partial ")
        #expect(p.format(r2) == "line\n", "the rest of a line gets no second time")
        #expect(p.format(r3) == "2024-01-02T03:04:07.000000000Z next\n")
        var plain = LogPrinter(timestamps: false)
        #expect(plain.format(r3) == "next\n")
    }

    @Test func eventLinesAsDocker() {
        setenv("TZ", "UTC", 1)
        tzset()
        let e = BerthAPI.Event(type: "container", action: "die", actor: .init(id: Self.id, attributes: ["name": "web", "image": "busybox", "exitCode": "0"]),
                               time: 1_704_164_645, timeNano: 1_704_164_645_000_000_123)
        #expect(EventsCommand.line(e) == "2024-01-02T03:04:05.000000123Z container die \(Self.id) (exitCode=0, image=busybox, name=web)")
        let j = EventsCommand.json(e)
        #expect(j["status"] == "die" && j["from"] == "busybox" && j["Actor"]?["Attributes"]?["name"] == "web")
    }

    @Test func portDiffAndTop() {
        #expect(PortCommand.render([BerthAPI.PortMapping(containerPort: "443/tcp", hostIp: "0.0.0.0", hostPort: "8443"),
                                    BerthAPI.PortMapping(containerPort: "80/tcp", hostIp: "::", hostPort: "8080")])
                == "80/tcp -> [::]:8080\n443/tcp -> 0.0.0.0:8443\n")
        #expect(DiffCommand.render([.init(path: "/tmp", kind: 0), .init(path: "/tmp/newfile", kind: 1), .init(path: "/etc/motd", kind: 2)])
                == "C /tmp\nA /tmp/newfile\nD /etc/motd\n")
        let top = TopCommand.render(BerthAPI.ContainerTopResult(titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                                                                processes: [["root", "4242", "4200", "0", "10:00", "?", "00:00:00", "sleep 30000"]]))
        #expect(top == """
            UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD
            root                4242                4200                0                   10:00               ?                   00:00:00            sleep 30000

            """)
    }
}
