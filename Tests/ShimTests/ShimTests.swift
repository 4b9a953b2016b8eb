// berth-shim end to end: the real shim binary starting real busybox containers
// through the real berth-runtime.

import Foundation
import Glibc
import OCI
import RPC
import Testing

/// A bundle, a runtime root and (once started) a shim, for one test.
final class ShimSandbox {
    let tmp: String
    let bundle: String
    let root: String
    let id: String
    var started: StartOutput?

    init(_ name: String, args: [String], patch: [String: Any] = [:]) throws {
        try TestEnv.requireShim()
        tmp = try makeScratchDir("shim-\(name)")
        bundle = tmp + "/bundle"
        root = tmp + "/state"
        id = uniqueID(name)
        mkdir(bundle, 0o755)
        do {
            try Rootfs.copy(to: bundle + "/rootfs")
            guard let baseText = readFile(TestEnv.fixturesDir + "/base-config.json"), let base = parseJSON(baseText) else {
                throw TestFailure("spec-fixtures/base-config.json is missing or invalid")
            }
            let full = mergePatch(mergePatch(base, ["process": ["args": args]]), patch)
            try writeFile(bundle + "/config.json", try jsonString(full))
        } catch {
            removeTree(tmp)
            throw error
        }
    }

    var shimArgs: [String] { ["--id", id, "--bundle", bundle, "--runtime", TestEnv.runtimePath, "--runtime-root", root] }

    func shimCommand(_ command: String, extra: [String] = [], environment: [String: String]? = nil) -> CommandResult {
        runCommand([TestEnv.shimPath, command] + shimArgs + extra, environment: environment, timeout: 30)
    }

    @discardableResult
    func start(extra: [String] = [], environment: [String: String]? = nil) throws -> StartOutput {
        let r = shimCommand("start", extra: extra, environment: environment)
        guard r.status == 0 else { throw TestFailure("berth-shim start failed: \(r)") }
        let lines = r.stdout.split(separator: "\n")
        guard lines.count == 1, let obj = parseJSON(String(lines[0])) as? [String: Any],
              let address = obj["address"] as? String, let pid = jsonNumber(obj["pid"]) else {
            throw TestFailure("berth-shim start should print one JSON line with address and pid: \(r)")
        }
        let out = StartOutput(address: address, pid: Int(pid))
        started = out
        return out
    }

    func client() throws -> ShimClient {
        guard let started else { throw TestFailure("shim not started") }
        return try ShimClient(address: started.address)
    }

    var shimPid: pid_t { pid_t(started?.pid ?? 0) }

    func shimJSON() -> [String: Any]? { readFile(bundle + "/shim.json").flatMap(parseJSON) as? [String: Any] }

    func runtimeState() -> CommandResult {
        runCommand([TestEnv.runtimePath, "--root", root, "state", id])
    }

    func cleanup() {
        if let started, processAlive(started.pid) {
            if let c = try? ShimClient(address: started.address) { try? c.shutdown(force: true) }
            usleep(100_000)
            if processAlive(started.pid) { kill(pid_t(started.pid), SIGKILL) }
        }
        runCommand([TestEnv.runtimePath, "--root", root, "delete", "--force", id])
        removeTree(tmp)
    }
}

func processAlive(_ pid: Int) -> Bool { pid > 0 && kill(pid_t(pid), 0) == 0 }

/// Polls until `cond` holds (a safety deadline, not a timing assertion).
func eventually(timeout: Double = 20, _ cond: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if cond() { return true }
        usleep(20_000)
    }
    return cond()
}

func logRecords(_ path: String) -> [[String: Any]] {
    (readFile(path) ?? "").split(separator: "\n").compactMap { parseJSON(String($0)) as? [String: Any] }
}

@Suite("Shim")
struct ShimTests {
    /// A shim nobody claims (its manager died between `start` and `create`) leaves
    /// by itself instead of waiting forever; one with a client connected stays.
    @Test func unclaimedShimLeavesAndAClaimedOneStays() throws {
        func unclaimedAfter(_ seconds: Int) -> [String: String] {
            ProcessInfo.processInfo.environment.merging(["BERTH_SHIM_UNCLAIMED_SECONDS": String(seconds)]) { _, new in new }
        }
        let lone = try ShimSandbox("unclaimed", args: ["true"])
        defer { lone.cleanup() }
        let claimed = try ShimSandbox("claimed", args: ["true"])
        defer { claimed.cleanup() }
        let a = try lone.start(environment: unclaimedAfter(1))
        // The claimed shim's window leaves its client 3 s to connect, even on a
        // loaded machine; it is checked again after that window has passed.
        let startedClaimed = Date()
        let b = try claimed.start(environment: unclaimedAfter(3))
        let client = try claimed.client()
        #expect(eventually(timeout: 20) { !processAlive(a.pid) }, "the unclaimed shim is still running")
        let pastWindow = 4 - Date().timeIntervalSince(startedClaimed)
        if pastWindow > 0 { usleep(useconds_t(pastWindow * 1_000_000)) }
        #expect(processAlive(b.pid), "the shim with a client left")
        // Still serving after its unclaimed peer left.
        #expect(throws: Never.self) { _ = try client.hello() }
    }

    @Test func startDaemonizesAndSecondStartReturnsTheSameAddress() throws {
        let sb = try ShimSandbox("start", args: ["true"])
        defer { sb.cleanup() }
        let first = try sb.start()
        #expect(first.address == "unix://" + sb.bundle + "/shim.sock")
        #expect(processAlive(first.pid))
        #expect(first.pid != Int(getpid()))
        // Its own session, not a child of the test, cwd /, stdio on /dev/null, a subreaper.
        #expect(getsid(pid_t(first.pid)) == pid_t(first.pid))
        let stat = readFile("/proc/\(first.pid)/stat") ?? ""
        let ppid = stat.split(separator: ")").last?.split(separator: " ").dropFirst(1).first.map(String.init)
        #expect(ppid != String(getpid()), "the starting process exits; the shim is not the test's child")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(first.pid)/cwd")) == "/")
        for fd in 0...2 {
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(first.pid)/fd/\(fd)")) == "/dev/null")
        }
        let status = readFile("/proc/\(first.pid)/status") ?? ""
        #expect(status.contains("Threads:\t1\n"), "the shim is one thread")

        let json = try #require(sb.shimJSON())
        #expect(json["address"] as? String == first.address)
        #expect(jsonNumber(json["pid"]) == Double(first.pid))
        #expect(json["status"] as? String == "none")

        let second = try sb.start()
        #expect(second == first)
        let other = runCommand([TestEnv.shimPath, "start", "--id", "someone-else", "--bundle", sb.bundle])
        #expect(other.status == 1 && other.stderr.contains("belongs to"), "one bundle, one shim: \(other)")

        let c = try sb.client()
        let hello = try c.hello()
        #expect(hello.version == 1 && hello.id == sb.id)
        try c.shutdown()
        #expect(eventually { !processAlive(first.pid) })
        #expect(!fileExists(sb.bundle + "/shim.sock"))
        #expect(!fileExists(sb.bundle + "/shim.json"), "nothing was created: shutdown leaves no state")
    }

    /// A manager may start the shim while it still writes the bundle: `start`
    /// needs the directory only, `create` reads config.json.
    @Test func startNeedsNoConfigYet() throws {
        let sb = try ShimSandbox("early", args: ["sh", "-c", "echo early"])
        defer { sb.cleanup() }
        let config = try #require(readFile(sb.bundle + "/config.json"))
        unlink(sb.bundle + "/config.json")
        try sb.start()
        let c = try sb.client()
        try writeFile(sb.bundle + "/config.json", config)
        let log = sb.bundle + "/early.log"
        _ = try c.create(CreateParams(stdio: .log, logPath: log))
        _ = try c.start()
        #expect(try c.wait().exitStatus == 0)
        #expect(logRecords(log).compactMap { $0["log"] as? String } == ["early\n"])
        _ = try c.delete()
        try c.shutdown()
    }

    /// `create` with `start: true` runs the process in the same runtime call
    /// (`run --detach`): the container is running when create answers, with
    /// its output logged, and `start` is refused as for any running container.
    @Test func createCanStartInOneRuntimeCall() throws {
        let sb = try ShimSandbox("createstart", args: ["sh", "-c", "echo started; cat"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        let log = sb.bundle + "/cs.log"
        let created = try c.create(CreateParams(stdio: .log, logPath: log, stdin: true, start: true))
        #expect(created.pid > 0)
        let state = try c.state()
        #expect(state.status == "running" && state.pid == created.pid, "\(state)")
        #expect(eventually(timeout: 10) { logRecords(log).compactMap { $0["log"] as? String } == ["started\n"] })
        #expect(throws: RPCError.self) { _ = try c.start() }
        // Still in `cat`: running until its stdin closes.
        #expect(processAlive(Int(created.pid)))
        try c.closeStdin()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 0)
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func concurrentStartsShareOneShim() throws {
        let sb = try ShimSandbox("race", args: ["true"])
        defer { sb.cleanup() }
        let procs = try (0..<4).map { _ in try Spawned([TestEnv.shimPath, "start"] + sb.shimArgs) }
        let results = procs.map { $0.wait(timeout: 30) }
        for r in results { #expect(r.status == 0, "\(r)") }
        let lines = Set(results.map { $0.stdout })
        #expect(lines.count == 1, "every start prints the same line: \(lines)")
        let obj = parseJSON(results[0].stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any]
        let pid = Int(jsonNumber(obj?["pid"]) ?? 0)
        sb.started = StartOutput(address: obj?["address"] as? String ?? "", pid: pid)
        let c = try sb.client()
        let info = try c.connect()
        #expect(info.shimPid == pid && info.pid == 0 && info.version == 1)
    }

    @Test func startDoesNotHoldTheCallersPipes() throws {
        let sb = try ShimSandbox("pipe", args: ["true"])
        defer { sb.cleanup() }
        // If the shim kept the pipe open, cat would never see EOF and the shell would hang.
        let cmd = ([TestEnv.shimPath, "start"] + sb.shimArgs).map { "'\($0)'" }.joined(separator: " ")
        let r = sh("\(cmd) 2>&1 | cat", timeout: 20)
        #expect(r.status == 0 && !r.timedOut, "\(r)")
        let obj = parseJSON(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any]
        let pid = Int(jsonNumber(obj?["pid"]) ?? 0)
        sb.started = StartOutput(address: obj?["address"] as? String ?? "", pid: pid)
        #expect(processAlive(pid))
    }

    /// The runtime is spawned through a child that shares the shim's fd table
    /// and trades it for one holding only 0..2 (close_range UNSHARE), then takes
    /// its stdio from the shim with pidfd_getfd: a vfork child would copy every
    /// fd of its parent (berthd holds one per container) and close each again.
    /// Checked on the system calls (strace attached to the running shim), and
    /// the runtime's output still arrives: the container is created and runs.
    @Test func theRuntimeIsSpawnedWithoutCopyingTheShimsFdTable() throws {
        let strace = "/usr/bin/strace"
        guard access(strace, X_OK) == 0 else { throw TestFailure("\(strace) is missing: make deps installs it") }
        let sb = try ShimSandbox("spawn", args: ["sh", "-c", "echo spawned"])
        defer { sb.cleanup() }
        try sb.start()
        let log = sb.tmp + "/strace"
        let tracer = try Spawned([strace, "-f", "-o", log, "-e", "trace=clone,clone3,vfork,close_range,pidfd_open,pidfd_getfd,execve",
                                  "-p", "\(sb.shimPid)"])
        // strace says on stderr when it has attached; the trace file exists by then.
        #expect(eventually(timeout: 10) { fileExists(log) })
        usleep(300_000)
        let c = try sb.client()
        let created = try c.create(CreateParams(stdio: .log))
        #expect(created.pid > 0)
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 0)
        kill(tracer.pid, SIGINT)
        _ = tracer.wait(timeout: 10)
        let trace = readFile(log) ?? ""
        let clones = trace.split(separator: "\n").filter { $0.contains("clone(") && $0.contains("CLONE_VFORK") }
        #expect(!clones.isEmpty && clones.allSatisfy { $0.contains("CLONE_VM") && $0.contains("CLONE_FILES") }, "\(trace)")
        #expect(trace.contains("close_range(3, 4294967295, CLOSE_RANGE_UNSHARE)"), "\(trace)")
        #expect(trace.contains("pidfd_getfd("), "\(trace)")
        #expect(!trace.contains("vfork("), "\(trace)")
        #expect(trace.contains("execve(\"\(TestEnv.runtimePath)\""), "\(trace)")
        let out = logRecords(sb.bundle + "/container.log").compactMap { $0["log"] as? String }
        #expect(out == ["spawned\n"], "\(out)")
    }

    /// An idle shim keeps few pages of its binary mapped (cb_poll_trimmed): the
    /// text and the never-written data its start-up mapped are dropped while it
    /// waits, and what it wrote is kept: after the drop it still answers, kills,
    /// reaps and reports the exit.
    @Test func anIdleShimKeepsFewPagesOfItsBinaryMapped() throws {
        let sb = try ShimSandbox("trim", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        let binary = String(cString: realpath(TestEnv.shimPath, nil))
        /// Resident kB of the shim's mappings of its own binary.
        func residentKB() -> Int {
            var total = 0
            var current = false
            for line in (readFile("/proc/\(sb.shimPid)/smaps") ?? "").split(separator: "\n") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                if let first = f.first, first.contains("-"), f.count >= 5 { current = f.count >= 6 && String(f[5]) == binary }
                if current && f.first == "Rss:", f.count > 1 { total += Int(f[1]) ?? 0 }
            }
            return total
        }
        let busy = residentKB()
        // Idle for a second after the last request, the shim drops the pages.
        var idle = busy
        #expect(eventually(timeout: 10) { idle = residentKB(); return idle <= 512 }, "idle shim maps \(idle) kB of \(binary) (\(busy) kB while busy)")
        #expect(idle * 4 < busy, "idle \(idle) kB, busy \(busy) kB")
        #expect(try c.state().status == "running")
        try c.kill(signal: 9)
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 137)
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func shimOutlivesItsManager() throws {
        let sb = try ShimSandbox("orphan", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        // A "manager" in its own session and process group starts the shim, then the whole group is SIGKILLed.
        let out = sb.tmp + "/start.out"
        let cmd = ([TestEnv.shimPath, "start"] + sb.shimArgs).map { "'\($0)'" }.joined(separator: " ")
        let manager = try Spawned(["/usr/bin/setsid", "/bin/sh", "-c", "\(cmd) > \(out); sleep 1000"])
        #expect(eventually { (readFile(out) ?? "").hasSuffix("\n") })
        let obj = parseJSON((readFile(out) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any]
        let pid = Int(jsonNumber(obj?["pid"]) ?? 0)
        sb.started = StartOutput(address: obj?["address"] as? String ?? "", pid: pid)
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        kill(-manager.pid, SIGKILL)
        manager.wait(timeout: 10)
        usleep(200_000)
        #expect(processAlive(pid), "the shim survives its manager's process group")
        let again = try sb.client()
        #expect(try again.state().status == "running")
        try again.kill(signal: 9)
        #expect(try again.wait(timeoutMillis: 30_000).exitStatus == 137)
        _ = try again.delete()
        try again.shutdown()
    }

    @Test func lifecycleWithJSONLog() throws {
        let sb = try ShimSandbox("life", args: ["sh", "-c", "echo hello; echo oops >&2; printf partial; read x < /dev/null; sleep 0.3; exit 3"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        let created = try c.create(CreateParams(stdio: .log))
        #expect(created.pid > 0)
        var st = try c.state()
        #expect(st.status == "created" && st.pid == created.pid && st.exitStatus == nil)
        #expect(sb.shimJSON()?["status"] as? String == "created")
        #expect(try c.start().pid == created.pid)
        let exit = try c.wait(timeoutMillis: 30_000)
        #expect(exit.exitStatus == 3 && exit.pid == created.pid && exit.reason == nil)
        #expect(exit.exitedAt.hasSuffix("Z") && exit.exitedAt.contains("T"))
        #expect(c.notifications.contains { if case .notification("exit", let p) = $0 { return p?["exitStatus"]?.int64Value == 3 }; return false })
        st = try c.state()
        #expect(st.status == "stopped" && st.exitStatus == 3 && st.exitedAt == exit.exitedAt)

        let log = sb.bundle + "/container.log"
        #expect(st.logPath == log)
        let recs = logRecords(log)
        let out = recs.filter { $0["stream"] as? String == "stdout" }.compactMap { $0["log"] as? String }
        let err = recs.filter { $0["stream"] as? String == "stderr" }.compactMap { $0["log"] as? String }
        #expect(out == ["hello\n", "partial"], "\(recs)")
        #expect(err == ["oops\n"], "\(recs)")
        for r in recs { #expect((r["time"] as? String)?.hasSuffix("Z") == true) }
        // Key order of Docker's json-file lines as the issue gives it.
        #expect(readFile(log)?.hasPrefix("{\"stream\":") == true)

        let deleted = try c.delete()
        #expect(deleted == exit)
        #expect(sb.runtimeState().status != 0, "the runtime forgot the container")
        #expect(throws: RPCError.self) { try c.state() }
        try c.shutdown()
        #expect(eventually { !processAlive(Int(sb.shimPid)) })
    }

    @Test func killPidsAndErrors() throws {
        let sb = try ShimSandbox("kill", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        do { _ = try c.start(); Issue.record("start before create should fail") } catch {
            #expect(error.code == RPCError.notFound)
        }
        let pid = try c.create().pid
        do { _ = try c.create(); Issue.record("a second create should fail") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        _ = try c.start()
        #expect(try c.state().status == "running")
        #expect(try c.pids().pids.contains(pid))
        do { _ = try c.delete(); Issue.record("delete of a running container should fail") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        do { try c.shutdown(); Issue.record("shutdown with a running container should fail") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        do { _ = try c.call("closeStdin"); Issue.record("closeStdin without a stdin pipe") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        do { _ = try c.attach(); Issue.record("attach with stdio none") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        do { _ = try c.call("frobnicate"); Issue.record("unknown method") } catch {
            #expect(error.code == RPCError.methodNotFound)
        }
        do { _ = try c.hello(version: 99); Issue.record("version 99") } catch {
            #expect(error.code == RPCError.unsupportedVersion)
        }
        do { _ = try c.call("kill", ["signal": "TERM"]); Issue.record("bad params") } catch {
            #expect(error.code == RPCError.invalidParams)
        }
        try c.kill(signal: 9)
        let exit = try c.wait(timeoutMillis: 30_000)
        #expect(exit.exitStatus == 137)
        #expect(try c.pids().pids.isEmpty)
        #expect(try c.delete().exitStatus == 137)
        try c.shutdown()
    }

    @Test func pauseResumeUpdateStats() throws {
        let sb = try ShimSandbox("pause", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        let pid = try c.create().pid
        do { try c.pause(); Issue.record("pause of a created container should fail") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        _ = try c.start()
        try c.pause()
        #expect(try c.state().status == "paused")
        #expect(sb.runtimeState().stdout.contains("\"paused\""))
        #expect(sb.shimJSON()?["status"] as? String == "paused")
        do { try c.pause(); Issue.record("pause twice should fail") } catch { #expect(error.code == RPCError.failedPrecondition) }
        do { _ = try c.delete(); Issue.record("delete while paused should fail") } catch { #expect(error.code == RPCError.failedPrecondition) }
        try c.resume()
        #expect(try c.state().status == "running")
        #expect(sb.runtimeState().stdout.contains("\"running\""))

        try c.update(resources: ["pids": ["limit": 77]])
        let stats = try c.stats()
        #expect(stats["pids"]?["limit"]?.int64Value == 77, "\(stats)")
        #expect(stats["pids"]?["current"]?.int64Value == 1)
        #expect(stats["memory"] != nil && stats["cpu"] != nil)
        do { try c.update(resources: ["pids": ["limit": "lots"]]); Issue.record("a bad update should fail") } catch {
            #expect(error.code == RPCError.runtimeFailed)
            #expect(error.message.contains("pids.limit"), "the runtime's own error: \(error)")
        }

        try c.kill(signal: 9)
        let exit = try c.wait(timeoutMillis: 30_000)
        #expect(exit.exitStatus == 137 && exit.pid == pid)
        do { _ = try c.stats(); Issue.record("stats after exit") } catch { #expect(error.code == RPCError.failedPrecondition) }
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func execProcesses() throws {
        let sb = try ShimSandbox("exec", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        func process(_ args: [String], terminal: Bool = false) -> JSONValue {
            ["terminal": .bool(terminal), "args": .array(args.map(JSONValue.string)), "cwd": "/",
             "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "user": ["uid": 0, "gid": 0]]
        }
        _ = try c.create()
        do { _ = try c.exec(ExecParams(execID: "e0", process: process(["true"]))); Issue.record("exec before start") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        let initPid = try c.start().pid

        let log = sb.tmp + "/e1.log"
        let e1 = try c.exec(ExecParams(execID: "e1", process: process(["sh", "-c", "echo hi; echo ho >&2; exit 6"]), stdio: .log, logPath: log))
        #expect(e1.pid > 0 && e1.pid != initPid)
        let x1 = try c.wait(execID: "e1", timeoutMillis: 30_000)
        #expect(x1.exitStatus == 6 && x1.execID == "e1" && x1.pid == e1.pid)
        let recs = logRecords(log)
        #expect(recs.compactMap { $0["log"] as? String }.sorted() == ["hi\n", "ho\n"], "\(recs)")
        let st1 = try c.state(execID: "e1")
        #expect(st1.status == "stopped" && st1.exitStatus == 6 && st1.execID == "e1")
        #expect(try c.state().status == "running", "the init is untouched")
        #expect(try c.delete(execID: "e1") == x1)
        do { _ = try c.state(execID: "e1"); Issue.record("deleted exec") } catch { #expect(error.code == RPCError.notFound) }

        let e2 = try c.exec(ExecParams(execID: "e2", process: process(["sleep", "100"])))
        #expect(try c.pids().pids.contains(e2.pid))
        do { _ = try c.exec(ExecParams(execID: "e2", process: process(["true"]))); Issue.record("duplicate exec id") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        // An exec with a terminal: resized, fed through attach, logged.
        let ttyLog = sb.tmp + "/e3.log"
        _ = try c.exec(ExecParams(execID: "e3", process: process(["sh", "-c", "read l; stty size; echo line:$l; tty; exit 4"], terminal: true),
                                  stdio: .log, logPath: ttyLog))
        try c.resizePty(width: 91, height: 33, execID: "e3")
        #expect(try c.attach(output: false, stdin: "typed\n", execID: "e3") == 6)
        #expect(try c.wait(execID: "e3", timeoutMillis: 30_000).exitStatus == 4)
        let ttyText = logRecords(ttyLog).compactMap { $0["log"] as? String }.joined()
        #expect(ttyText.contains("33 91") && ttyText.contains("line:typed") && ttyText.contains("/dev/pts/"), "\(ttyText)")
        do { try c.resizePty(width: 1, height: 1, execID: "e3"); Issue.record("resize after exit") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        // An exec with a stdin pipe, closed to end it.
        let pipeLog = sb.tmp + "/e4.log"
        _ = try c.exec(ExecParams(execID: "e4", process: process(["sh", "-c", "cat; echo done"]), stdio: .log, logPath: pipeLog, stdin: true))
        #expect(try c.attach(output: false, stdin: "through\n", execID: "e4") == 8)
        try c.closeStdin(execID: "e4")
        #expect(try c.wait(execID: "e4", timeoutMillis: 30_000).exitStatus == 0)
        #expect(logRecords(pipeLog).compactMap { $0["log"] as? String } == ["through\n", "done\n"])
        do { _ = try c.delete(execID: "e2"); Issue.record("delete of a running exec") } catch {
            #expect(error.code == RPCError.failedPrecondition)
        }
        try c.kill(signal: 9, execID: "e2")
        #expect(try c.wait(execID: "e2", timeoutMillis: 30_000).exitStatus == 137)
        #expect(c.notifications.contains { if case .notification("exit", let p) = $0 { return p?["execID"]?.stringValue == "e2" }; return false })

        try c.kill(signal: 9)
        let x = try c.wait(timeoutMillis: 30_000)
        #expect(x.exitStatus == 137 && x.execID == nil)
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func terminalOutputIsLoggedAndResizable() throws {
        let sb = try ShimSandbox("tty", args: ["sh", "-c", "stty size; tty; exit 2"], patch: ["process": ["terminal": true]])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create(CreateParams(stdio: .log))
        #expect(!fileExists(sb.bundle + "/shim-console.sock"), "the console socket is gone once the master arrived")
        try c.resizePty(width: 123, height: 45)
        do { try c.resizePty(width: 0, height: 1); Issue.record("zero width") } catch { #expect(error.code == RPCError.invalidParams) }
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 2)
        let recs = logRecords(sb.bundle + "/container.log")
        let text = recs.compactMap { $0["log"] as? String }.joined()
        #expect(text.contains("45 123"), "\(recs)")
        #expect(text.contains("/dev/pts/"), "\(recs)")
        #expect(recs.allSatisfy { $0["stream"] as? String == "stdout" })
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func terminalWithoutLogIsDrained() throws {
        // 200 KB through a pty nobody logs: the shim must keep reading or the container blocks.
        let sb = try ShimSandbox("ttynone", args: ["sh", "-c", "i=0; while [ $i -lt 4000 ]; do echo 0123456789012345678901234567890123456789012345; i=$((i+1)); done"],
                                 patch: ["process": ["terminal": true]])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 60_000).exitStatus == 0)
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func stdinPipeAttachAndCloseStdin() throws {
        let sb = try ShimSandbox("stdin", args: ["sh", "-c", "while read l; do echo got:$l; done; echo eof; exit 9"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create(CreateParams(stdio: .log, stdin: true))
        let watcher = try sb.client()
        try watcher.attach()
        _ = try c.start()
        #expect(try c.attach(output: false, stdin: "a\nb\n") == 4)
        try c.closeStdin()
        do { try c.closeStdin(); Issue.record("closeStdin twice") } catch { #expect(error.code == RPCError.failedPrecondition) }
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 9)
        var data = ""
        var sawExit = false
        while !sawExit, let m = try watcher.receive(timeoutMillis: 10_000) {
            if case .notification("output", let p) = m { data += p?["data"]?.stringValue ?? "" }
            if case .notification("exit", _) = m { sawExit = true }
        }
        #expect(data == "got:a\ngot:b\neof\n")
        let logged = logRecords(sb.bundle + "/container.log").compactMap { $0["log"] as? String }
        #expect(logged == ["got:a\n", "got:b\n", "eof\n"])
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func longLinesAreSplitAndBadUTF8IsReplaced() throws {
        // 40000 bytes without a newline, then one; then a line with an invalid UTF-8 byte (\\377).
        let sb = try ShimSandbox("split", args: ["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo; printf 'x\\377y\\n'"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create(CreateParams(stdio: .log))
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 0)
        let logs = logRecords(sb.bundle + "/container.log").compactMap { $0["log"] as? String }
        #expect(logs.map { $0.utf8.count } == [16384, 16384, 40000 - 32768 + 1, "x\u{FFFD}y\n".utf8.count], "\(logs.map { $0.prefix(10) })")
        #expect(logs.last == "x\u{FFFD}y\n")
        _ = try c.delete()
        try c.shutdown()
    }

    @Test func commandLineErrors() throws {
        try TestEnv.requireShim()
        let noID = runCommand([TestEnv.shimPath, "start", "--bundle", "/nonexistent"])
        #expect(noID.status == 1 && noID.stderr.hasPrefix("berth-shim: ") && noID.stderr.contains("--id"), "\(noID)")
        let noBundle = runCommand([TestEnv.shimPath, "start", "--id", "x", "--bundle", "/nonexistent"])
        #expect(noBundle.status == 1 && noBundle.stderr.contains("no bundle directory /nonexistent"), "\(noBundle)")
        let bad = runCommand([TestEnv.shimPath, "start", "--id", "../x", "--bundle", "/tmp"])
        #expect(bad.status == 1 && bad.stderr.contains("invalid id"), "\(bad)")
        let valued = runCommand([TestEnv.shimPath, "start", "--private-mounts=yes", "--id", "x", "--bundle", "/tmp"])
        #expect(valued.status == 1 && valued.stderr == "berth-shim: --private-mounts takes no value\n", "\(valued)")
        let unknown = runCommand([TestEnv.shimPath, "frob", "--id", "x", "--bundle", "/tmp"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown command"), "\(unknown)")
        let none = runCommand([TestEnv.shimPath])
        #expect(none.status == 2 && none.stdout.contains("usage"), "\(none)")
        let gone = runCommand([TestEnv.shimPath, "delete", "--id", "x", "--bundle", "/nonexistent"])
        #expect(gone.status == 1 && gone.stderr.contains("shim.json"), "\(gone)")
        for r in [noID, noBundle, bad, unknown, gone] {
            #expect(r.stderr.split(separator: "\n").count == 1, "one error line: \(r)")
        }
    }

    @Test func malformedInputGetsAnErrorWithNullID() throws {
        let sb = try ShimSandbox("bad", args: ["true"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        let raw = Array("{oops\n".utf8)
        _ = raw.withUnsafeBytes { send(c.fd, $0.baseAddress, raw.count, 0) }
        let m = try #require(try c.receive(timeoutMillis: 10_000))
        guard case .error(nil, let e) = m else { Issue.record("expected an error with id null, got \(m)"); return }
        #expect(e.code == RPCError.parseError)
        // The connection still serves.
        #expect(try c.hello().version == 1)
    }

    @Test func exitIsKeptWhileNobodyIsConnected() throws {
        let sb = try ShimSandbox("keep", args: ["sh", "-c", "sleep 0.5; exit 7"])
        defer { sb.cleanup() }
        try sb.start()
        do {
            let c = try sb.client()
            _ = try c.create()
            _ = try c.start()
        }  // disconnected
        #expect(eventually { jsonNumber(sb.shimJSON()?["exitStatus"]) == 7 }, "shim.json records the exit")
        let c2 = try sb.client()
        let st = try c2.state()
        #expect(st.status == "stopped" && st.exitStatus == 7)
        let w = try c2.wait(timeoutMillis: 5_000)
        #expect(w.exitStatus == 7 && w.exitedAt == st.exitedAt)
        // Once more, from a third connection: the exit stays until delete.
        #expect(try sb.client().wait(timeoutMillis: 5_000) == w)
        _ = try c2.delete()
        try c2.shutdown()
    }

    @Test func waitersOnSeveralConnectionsAllGetTheExit() throws {
        let sb = try ShimSandbox("waiters", args: ["sh", "-c", "sleep 0.5; exit 5"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create()
        let other = try sb.client()
        try other.send(.request(id: .number(100), method: "wait", params: nil))
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 5)
        var got: ExitInfo?
        while got == nil, let m = try other.receive(timeoutMillis: 10_000) {
            if case .result(.number(100), let r) = m { got = try ExitInfo.decode(r) }
        }
        #expect(got?.exitStatus == 5)
    }

    @Test func logRotationBySizeKeepsMaxFiles() throws {
        let sb = try ShimSandbox("rotate", args: ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        let log = sb.tmp + "/logs-c.json"
        _ = try c.create(CreateParams(stdio: .log, logPath: log, logMaxSize: 4096, logMaxFiles: 3))
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 0)
        #expect(fileExists(log) && fileExists(log + ".1") && fileExists(log + ".2"))
        #expect(!fileExists(log + ".3"), "at most 3 files")
        for p in [log, log + ".1", log + ".2"] {
            var st = stat()
            stat(p, &st)
            #expect(st.st_size <= 4096, "\(p) is \(st.st_size) bytes")
            #expect(st.st_size > 0)
        }
        // The newest lines are in the current file, in order, and the files join up.
        let lines = (logRecords(log + ".2") + logRecords(log + ".1") + logRecords(log)).compactMap { $0["log"] as? String }
        #expect(lines.last == "line-299-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n")
        let numbers = lines.compactMap { Int($0.split(separator: "-")[1]) }
        #expect(numbers == Array((300 - numbers.count)..<300), "consecutive lines across rotated files")
        _ = try c.delete()
    }

    @Test func deleteAfterTheShimWasKilled() throws {
        let sb = try ShimSandbox("dead", args: ["sleep", "1000"])
        defer { sb.cleanup() }
        // The rootfs is a mount, as when a manager mounts a snapshot there.
        #expect(runCommand(["mount", "--bind", sb.bundle + "/rootfs", sb.bundle + "/rootfs"]).status == 0)
        // Asked of the kernel per path (util-linux's mountpoint): reading the whole
        // mountinfo can miss lines while other suites mount and unmount.
        func bundleMounts() -> [String] {
            [sb.bundle + "/rootfs"].filter { runCommand(["mountpoint", "-q", $0]).status == 0 }
        }
        #expect(bundleMounts() == [sb.bundle + "/rootfs"])
        try sb.start()
        let c = try sb.client()
        let pid = try c.create().pid
        _ = try c.start()
        kill(sb.shimPid, SIGKILL)
        #expect(eventually { !processAlive(Int(sb.shimPid)) })
        #expect(processAlive(pid), "the container outlives its shim")

        let again = sb.shimCommand("start")
        #expect(again.status != 0 && again.stderr.contains("berth-shim delete"), "a new shim must not forget the old one's container: \(again)")

        let r = sb.shimCommand("delete")
        #expect(r.status == 0, "\(r)")
        let out = try #require(parseJSON(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any], "\(r)")
        #expect(jsonNumber(out["exitStatus"]) == 137)
        #expect((out["reason"] as? String)?.contains("died") == true)
        #expect(jsonNumber(out["pid"]) == Double(pid))
        #expect(eventually { !processAlive(pid) }, "the container was killed")
        #expect(sb.runtimeState().status != 0, "the runtime forgot the container")
        #expect(!fileExists(sb.bundle + "/shim.json") && !fileExists(sb.bundle + "/shim.sock"))
        #expect(bundleMounts().isEmpty, "berth-shim delete unmounts what the bundle mounted")
        // Nothing left to delete now; a new shim may start.
        #expect(sb.shimCommand("delete").status != 0)
        let fresh = try sb.start()
        #expect(fresh.pid != Int(sb.shimPid) || processAlive(fresh.pid))
        #expect(sb.shimJSON()?["status"] as? String == "none")
    }

    @Test func deleteAfterTheShimDiedReportsTheRecordedExit() throws {
        let sb = try ShimSandbox("recorded", args: ["sh", "-c", "exit 4"])
        defer { sb.cleanup() }
        try sb.start()
        let c = try sb.client()
        _ = try c.create()
        _ = try c.start()
        #expect(try c.wait(timeoutMillis: 30_000).exitStatus == 4)
        kill(sb.shimPid, SIGKILL)
        #expect(eventually { !processAlive(Int(sb.shimPid)) })
        let r = sb.shimCommand("delete")
        #expect(r.status == 0, "\(r)")
        let out = parseJSON(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [String: Any]
        #expect(jsonNumber(out?["exitStatus"]) == 4 && out?["reason"] == nil, "\(r)")
        #expect(sb.runtimeState().status != 0)
    }

    @Test func deleteRefusesWhileTheShimRuns() throws {
        let sb = try ShimSandbox("live", args: ["true"])
        defer { sb.cleanup() }
        try sb.start()
        let r = sb.shimCommand("delete")
        #expect(r.status != 0 && r.stderr.contains("still running"), "\(r)")
    }
}
