// Events to the manager's events address (exit, oom, execStarted,
// execExited), queued while the manager is away; the OOM flag on exits;
// closeStdin on a terminal; exec exits persisted in shim.json.

import Foundation
import Glibc
import OCI
import RPC
import Testing

/// The manager's side of `--events`: a unix socket that accepts the shim's
/// connections and collects the `event` notifications, one JSON object each.
final class EventsListener {
    let path: String
    private var listenFD: Int32 = -1
    private var conns: [Int32] = []
    private var buffers: [Int32: [UInt8]] = [:]
    private(set) var events: [[String: Any]] = []

    init(path: String) throws {
        self.path = path
        unlink(path)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, listen(s, 8) == 0 else { Glibc.close(s); throw TestFailure("cannot listen on \(path)") }
        listenFD = s
    }

    deinit { close(); }

    func close() {
        for fd in conns { Glibc.close(fd) }
        conns = []
        if listenFD >= 0 { Glibc.close(listenFD); listenFD = -1; unlink(path) }
    }

    /// Serves connections until `count` events arrived (or the deadline passed).
    @discardableResult
    func collect(_ count: Int, timeout: Double = 20) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        while events.count < count && Date() < deadline {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)] + conns.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 100) > 0 else { continue }
            if fds[0].revents != 0 { let fd = accept(listenFD, nil, nil); if fd >= 0 { conns.append(fd) } }
            for p in fds.dropFirst() where p.revents != 0 {
                var buf = [UInt8](repeating: 0, count: 65536)
                let n = read(p.fd, &buf, buf.count)
                if n <= 0 { Glibc.close(p.fd); conns.removeAll { $0 == p.fd }; buffers[p.fd] = nil; continue }
                buffers[p.fd, default: []] += buf[0..<n]
                while let nl = buffers[p.fd]!.firstIndex(of: 10) {
                    let line = Array(buffers[p.fd]![..<nl])
                    buffers[p.fd]!.removeFirst(nl + 1)
                    if let obj = parseJSON(String(decoding: line, as: UTF8.self)) as? [String: Any],
                       obj["method"] as? String == "event", let params = obj["params"] as? [String: Any] {
                        events.append(params)
                    }
                }
            }
        }
        return events
    }
}

private func process(_ args: [String], terminal: Bool = false) -> JSONValue {
    ["terminal": .bool(terminal), "args": .array(args.map(JSONValue.string)), "cwd": "/",
     "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "user": ["uid": 0, "gid": 0]]
}

private func topics(_ events: [[String: Any]]) -> [String] { events.compactMap { $0["topic"] as? String } }
private func seqs(_ events: [[String: Any]]) -> [Int] { events.compactMap { jsonNumber($0["seq"]).map(Int.init) } }

@Suite("Shim events")
struct ShimEventsTests {
    @Test func eventsReachAListeningManager() throws {
        let sb = try ShimSandbox("events", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        let listener = try EventsListener(path: sb.tmp + "/events.sock")
        try sb.start(extra: ["--events", "unix://" + listener.path])
        let c = try sb.client()
        _ = try c.create()
        let initPid = try c.start().pid
        let e = try c.exec(ExecParams(execID: "e1", process: process(["sh", "-c", "exit 4"])))
        _ = try c.wait(execID: "e1", timeoutMillis: 30_000)
        try c.kill(signal: 9)
        _ = try c.wait(timeoutMillis: 30_000)
        let got = listener.collect(3)
        #expect(topics(got) == ["execStarted", "execExited", "exit"], "\(got)")
        #expect(seqs(got) == [1, 2, 3])
        #expect(got.allSatisfy { $0["id"] as? String == sb.id && ($0["time"] as? String)?.hasSuffix("Z") == true })
        #expect(got.first?["execID"] as? String == "e1" && jsonNumber(got.first?["pid"]).map(Int.init) == e.pid)
        #expect(jsonNumber(got[1]["exitStatus"]) == 4)
        #expect(jsonNumber(got[2]["exitStatus"]) == 137 && jsonNumber(got[2]["pid"]).map(Int.init) == initPid)
        #expect(got[2]["exitedAt"] as? String != nil && got[2]["oomKilled"] == nil)
        // The exec's exit is in shim.json too (a manager reading it after the shim died).
        let execs = sb.shimJSON()?["execs"] as? [[String: Any]]
        #expect(execs?.first?["execID"] as? String == "e1" && jsonNumber(execs?.first?["exitStatus"]) == 4, "\(String(describing: execs))")
        #expect(sb.shimJSON()?["eventsAddress"] as? String == "unix://" + listener.path)
    }

    @Test func eventsWaitForAManagerThatIsAway() throws {
        let sb = try ShimSandbox("evqueue", args: ["sh", "-c", "exit 7"])
        defer { sb.cleanup() }
        let path = sb.tmp + "/events.sock"
        // Nobody listens yet: the manager is down.
        try sb.start(extra: ["--events", path])
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 7)
        // The manager comes back on the same address: the shim's retry delivers.
        let listener = try EventsListener(path: path)
        let got = listener.collect(1, timeout: 20)
        #expect(topics(got) == ["exit"] && jsonNumber(got.first?["exitStatus"]) == 7, "\(got)")

        // A manager that returns on a new address says so through connect: queued events go there at once.
        listener.close()
        let e = try c.connect()
        #expect(e.events == path && e.queuedEvents == 0)
        _ = try c.delete()
        let sb2 = try ShimSandbox("evqueue2", args: ["sleep", "1000"])
        defer { sb2.cleanup() }
        try sb2.start(extra: ["--events", sb2.tmp + "/nobody.sock"])
        let c2 = try sb2.client()
        _ = try c2.create()
        _ = try c2.start()
        _ = try c2.exec(ExecParams(execID: "x", process: process(["true"])))
        _ = try c2.wait(execID: "x", timeoutMillis: 30_000)
        let moved = try EventsListener(path: sb2.tmp + "/new.sock")
        let r = try c2.connect(events: "unix://" + moved.path)
        #expect(r.events == "unix://" + moved.path && r.queuedEvents == 0, "\(r)")
        #expect(topics(moved.collect(2, timeout: 5)) == ["execStarted", "execExited"])
    }

    @Test func aFullQueueDropsTheOldestAndSaysHowMany() throws {
        let sb = try ShimSandbox("evdrop", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        try sb.start(extra: ["--events", sb.tmp + "/away.sock"], environment: ["BERTH_SHIM_EVENT_QUEUE": "3"])
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        for i in 0..<3 {
            _ = try c.exec(ExecParams(execID: "e\(i)", process: process(["true"])))
            _ = try c.wait(execID: "e\(i)", timeoutMillis: 30_000)
        }
        // Six events, three kept: seq 4, 5, 6; the first of them says three went before it.
        let listener = try EventsListener(path: sb.tmp + "/back.sock")
        _ = try c.connect(events: listener.path)
        let got = listener.collect(3, timeout: 5)
        #expect(seqs(got) == [4, 5, 6], "\(got)")
        #expect(jsonNumber(got.first?["dropped"]) == 3 && got.dropFirst().allSatisfy { $0["dropped"] == nil }, "\(got)")
    }

    @Test func anOOMKillIsAnEventAndMarksTheExit() throws {
        let sb = try ShimSandbox("oom", args: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
                                 patch: ["linux": ["resources": ["memory": ["limit": 32 << 20, "swap": 32 << 20]]]])
        defer { sb.cleanup() }
        let listener = try EventsListener(path: sb.tmp + "/events.sock")
        try sb.start(extra: ["--events", listener.path])
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        let x = try c.wait(timeoutMillis: 30_000)
        #expect(x.exitStatus == 137 && x.oomKilled == true, "\(x)")
        let got = listener.collect(2)
        #expect(topics(got) == ["oom", "exit"], "\(got)")
        #expect(got.last?["oomKilled"] as? Bool == true)
    }

    @Test func closeStdinOnATerminalIsEndOfFile() throws {
        let sb = try ShimSandbox("ttyeof", args: ["sh", "-c", "cat; echo cat-ended"], patch: ["process": ["terminal": true]])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create(CreateParams(stdio: .log))
        _ = try c.start()
        #expect(try c.attach(output: false, stdin: "hello\n") == 6)
        try c.closeStdin()
        let x = try c.wait(timeoutMillis: 30_000)
        #expect(x.exitStatus == 0)
        let text = logRecords(sb.bundle + "/container.log").compactMap { $0["log"] as? String }.joined()
        #expect(text.contains("hello") && text.contains("cat-ended"), "\(text)")
        do { _ = try c.attach(output: false, stdin: "more\n"); Issue.record("stdin after closeStdin") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
    }
}
