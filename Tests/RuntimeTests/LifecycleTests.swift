// The runtime's command line, checked the way a user (or containerd) sees it:
// create/start/state/kill/delete, run, exec, list, spec, features, the global options and
// the error messages. Validated against runc 1.1.5:
//
//   BERTH_RUNTIME=/usr/sbin/runc swift test --filter Lifecycle
//
// runc's exact wording is quoted in comments ("runc: ...") so berth can match it. runc
// prints errors as logrus lines on stderr:
//   time="..." level=error msg="container does not exist"
// Assertions look for the message text, not the logrus framing.
//
// Every test has its own --root and unique ids and deletes its containers (delete --force)
// and scratch directory even when an expectation fails.

import Foundation
import Glibc
import Testing

/// A bundle (busybox rootfs + config.json) and a private state root for one test.
final class Sandbox {
    let tmp: String
    let root: String
    let bundle: String
    private var ids: [String] = []

    /// `patch` is merged (RFC 7386) onto spec-fixtures/base-config.json.
    init(_ name: String, patch: [String: Any] = [:]) throws {
        try TestEnv.requireRuntime()
        tmp = try makeScratchDir("lc-\(name)")
        root = tmp + "/state"
        bundle = tmp + "/bundle"
        mkdir(bundle, 0o755)
        do {
            try Rootfs.copy(to: bundle + "/rootfs")
            try writeConfig(patch: patch)
        } catch {
            removeTree(tmp)
            throw error
        }
    }

    func writeConfig(patch: [String: Any], to dir: String? = nil) throws {
        guard let baseText = readFile(TestEnv.fixturesDir + "/base-config.json"),
              let base = parseJSON(baseText) else {
            throw TestFailure("spec-fixtures/base-config.json is missing or invalid")
        }
        try writeFile((dir ?? bundle) + "/config.json", try jsonString(mergePatch(base, patch)))
    }

    /// A fresh container id that cleanup() will delete.
    func newID(_ hint: String) -> String {
        let id = uniqueID(hint)
        ids.append(id)
        return id
    }

    /// `<runtime> --root <root> <args...>`
    @discardableResult
    func run(_ args: [String], stdinPath: String = "/dev/null", cwd: String? = nil, timeout: Double = 60) -> CommandResult {
        rt(["--root", root] + args, stdinPath: stdinPath, cwd: cwd, timeout: timeout)
    }

    func state(_ id: String) -> [String: Any]? {
        let r = run(["state", id])
        guard r.status == 0 else { return nil }
        return parseJSON(r.stdout) as? [String: Any]
    }

    func status(_ id: String) -> String? { state(id)?["status"] as? String }

    /// Polls `state` until the container reaches `status` (a safety deadline, not a timing assertion).
    @discardableResult
    func waitForStatus(_ id: String, _ status: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = run(["state", id])
            if r.status != 0 { return false }  // gone (or state broken): waiting will not help
            if (parseJSON(r.stdout) as? [String: Any])?["status"] as? String == status { return true }
            usleep(50_000)
        }
        return self.status(id) == status
    }

    func cleanup() {
        for id in ids { run(["delete", "--force", id]) }
        removeTree(tmp)
    }
}

let loopUntilTERM = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]

func processAlive(_ pid: Int) -> Bool { pid > 0 && kill(pid_t(pid), 0) == 0 }

/// The error of a failed command: exactly one (non-warning) line on stderr.
func expectOneErrorLine(_ r: CommandResult, containing needle: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status != 0, "should fail: \(r)", sourceLocation: sourceLocation)
    let lines = errorLines(r.stderr)
    #expect(lines.count == 1, "should print exactly one error line on stderr: \(r)", sourceLocation: sourceLocation)
    if let needle {
        #expect(r.stderr.contains(needle), "stderr should contain \"\(needle)\": \(r)", sourceLocation: sourceLocation)
    }
}

@Suite("Lifecycle")
struct LifecycleTests {

    // MARK: create / start / state / kill / delete

    @Test func createStartKillDelete() throws {
        let sb = try Sandbox("basic", patch: ["process": ["args": ["sleep", "1000"]],
                                             "annotations": ["org.example.k": "v"]])
        defer { sb.cleanup() }
        let id = sb.newID("basic")

        let c = sb.run(["create", "--bundle", sb.bundle, id])
        #expect(c.status == 0, "\(c)")
        #expect(c.stdout.isEmpty && errorLines(c.stderr).isEmpty, "create should be silent: \(c)")

        let s = sb.run(["state", id])
        #expect(s.status == 0, "\(s)")
        let state = try #require(parseJSON(s.stdout) as? [String: Any], "state must print JSON: \(s)")
        #expect((state["ociVersion"] as? String)?.isEmpty == false, "ociVersion: \(state)")
        #expect(state["id"] as? String == id)
        #expect(state["status"] as? String == "created")
        #expect(state["bundle"] as? String == sb.bundle)
        let pid = Int(jsonNumber(state["pid"]) ?? 0)
        #expect(pid > 0, "a created container has its init pid: \(state)")
        #expect(processAlive(pid), "the init process \(pid) should exist")
        #expect((state["annotations"] as? [String: String]) == ["org.example.k": "v"], "annotations: \(state)")

        let st = sb.run(["start", id])
        #expect(st.status == 0, "\(st)")
        #expect(sb.status(id) == "running")
        #expect(Int(jsonNumber(sb.state(id)?["pid"]) ?? 0) == pid, "start keeps the init pid")

        let k = sb.run(["kill", id, "KILL"])
        #expect(k.status == 0, "\(k)")
        #expect(sb.waitForStatus(id, "stopped"), "container should be stopped after kill KILL")

        // runc: "container not running"
        expectOneErrorLine(sb.run(["kill", id, "KILL"]), containing: "container not running")
        // runc: "cannot start a container that has stopped"
        expectOneErrorLine(sb.run(["start", id]), containing: "cannot start a container that has stopped")

        let d = sb.run(["delete", id])
        #expect(d.status == 0, "\(d)")
        // runc: "container does not exist"
        expectOneErrorLine(sb.run(["state", id]), containing: "does not exist")
        Leftovers.check(root: sb.root, id: id)
    }

    @Test("kill with a signal name, a SIG-prefixed name, a number and the default (SIGTERM)",
          arguments: [["TERM"], ["SIGTERM"], ["15"], []])
    func killSignals(_ signal: [String]) throws {
        let sb = try Sandbox("kill", patch: ["process": ["args": loopUntilTERM]])
        defer { sb.cleanup() }
        let id = sb.newID("kill")
        #expect(sb.run(["create", "--bundle", sb.bundle, id]).status == 0)
        #expect(sb.run(["start", id]).status == 0)
        #expect(sb.waitForStatus(id, "running"))
        let k = sb.run(["kill", id] + signal)
        #expect(k.status == 0, "\(k)")
        #expect(sb.waitForStatus(id, "stopped"), "the TERM trap should end the container")
        #expect(sb.run(["delete", id]).status == 0)
        Leftovers.check(root: sb.root, id: id)
    }

    @Test func killNumericKILL() throws {
        let sb = try Sandbox("kill9", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("kill9")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        #expect(sb.run(["kill", id, "9"]).status == 0)
        #expect(sb.waitForStatus(id, "stopped"))
    }

    @Test func killUnknownSignal() throws {
        let sb = try Sandbox("killbad", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("killbad")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        // runc: unknown signal "BOGUS"
        expectOneErrorLine(sb.run(["kill", id, "BOGUS"]), containing: "BOGUS")
        #expect(sb.status(id) == "running", "a bad kill must not affect the container")
    }

    @Test func startTwice() throws {
        let sb = try Sandbox("start2", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("start2")
        #expect(sb.run(["create", "--bundle", sb.bundle, id]).status == 0)
        #expect(sb.run(["start", id]).status == 0)
        // runc: "cannot start an already running container"
        expectOneErrorLine(sb.run(["start", id]), containing: "cannot start an already running container")
        #expect(sb.status(id) == "running")
    }

    @Test func deleteRunningNeedsForce() throws {
        let sb = try Sandbox("delrun", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("delrun")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        let pid = Int(jsonNumber(sb.state(id)?["pid"]) ?? 0)
        // runc: "cannot delete container <id> that is not stopped: running"
        expectOneErrorLine(sb.run(["delete", id]), containing: "that is not stopped: running")
        #expect(sb.status(id) == "running", "a refused delete must not affect the container")
        #expect(processAlive(pid))

        let f = sb.run(["delete", "--force", id])
        #expect(f.status == 0, "\(f)")
        expectOneErrorLine(sb.run(["state", id]), containing: "does not exist")
        Leftovers.check(root: sb.root, id: id)
        // The init process is gone (allow the kernel a moment to reap it).
        let deadline = Date().addingTimeInterval(10)
        while processAlive(pid) && Date() < deadline { usleep(20_000) }
        #expect(!processAlive(pid), "delete --force must kill the container process")
    }

    @Test func deleteForceShortFlag() throws {
        let sb = try Sandbox("delf", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("delf")
        #expect(sb.run(["create", "--bundle", sb.bundle, id]).status == 0)
        #expect(sb.run(["delete", "-f", id]).status == 0)
        #expect(sb.state(id) == nil)
        Leftovers.check(root: sb.root, id: id)
    }

    // MARK: run

    @Test func runForegroundReturnsExitCode() throws {
        let sb = try Sandbox("run", patch: ["process": ["args": ["sh", "-c", "echo out; echo err >&2; exit 3"]]])
        defer { sb.cleanup() }
        let id = sb.newID("run")
        let r = sb.run(["run", "--bundle", sb.bundle, id])
        #expect(r.status == 3, "\(r)")
        #expect(r.stdout == "out\n")
        #expect(r.stderr.contains("err\n"))
        // `run` deletes the container when it exits.
        expectOneErrorLine(sb.run(["state", id]), containing: "does not exist")
        Leftovers.check(root: sb.root, id: id)
    }

    @Test func runDetached() throws {
        let sb = try Sandbox("rund", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("rund")
        let r = sb.run(["run", "-d", "--bundle", sb.bundle, id])
        #expect(r.status == 0, "\(r)")
        let state = sb.state(id)
        #expect(state?["status"] as? String == "running", "\(String(describing: state))")
        #expect(processAlive(Int(jsonNumber(state?["pid"]) ?? 0)))
        #expect(sb.run(["kill", id, "KILL"]).status == 0)
        #expect(sb.waitForStatus(id, "stopped"))
        #expect(sb.run(["delete", id]).status == 0)
        Leftovers.check(root: sb.root, id: id)
    }

    @Test("--pid-file is written with the init pid, without leaving a temp file", arguments: ["create", "run -d"])
    func pidFile(_ command: String) throws {
        let sb = try Sandbox("pidfile", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("pidfile")
        let pidDir = sb.tmp + "/piddir"
        mkdir(pidDir, 0o755)
        let pidPath = pidDir + "/container.pid"
        let r = sb.run(command.split(separator: " ").map(String.init) + ["--pid-file", pidPath, "--bundle", sb.bundle, id])
        #expect(r.status == 0, "\(r)")
        let text = try #require(readFile(pidPath), "pid file \(pidPath) not written")
        // runc writes the bare number without a newline.
        let filePid = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(filePid != nil, "pid file content: \(text.debugDescription)")
        #expect(filePid == Int(jsonNumber(sb.state(id)?["pid"]) ?? -1), "pid file must hold the init pid")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: pidDir)) ?? []
        #expect(entries == ["container.pid"], "nothing but the pid file next to it: \(entries)")
    }

    @Test func pidFileRelativePath() throws {
        let sb = try Sandbox("pidrel", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("pidrel")
        let r = sb.run(["create", "--pid-file", "rel.pid", "--bundle", sb.bundle, id], cwd: sb.tmp)
        #expect(r.status == 0, "\(r)")
        // A relative --pid-file is relative to the caller's working directory.
        let text = readFile(sb.tmp + "/rel.pid")?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text != nil && Int(text!) == Int(jsonNumber(sb.state(id)?["pid"]) ?? -1))
    }

    // MARK: terminal / console socket

    @Test func consoleSocketReceivesPTYMaster() throws {
        let sb = try Sandbox("console", patch: [
            "process": ["terminal": true, "consoleSize": ["height": 30, "width": 100],
                        "args": ["sh", "-c", "tty; stty size; echo hello-from-pty"]],
        ])
        defer { sb.cleanup() }
        let id = sb.newID("console")
        let listener = try ConsoleSocketListener(path: sb.tmp + "/console.sock")
        defer { listener.close() }

        let create = try Spawned([TestEnv.runtimePath, "--root", sb.root, "create",
                                  "--console-socket", listener.path, "--bundle", sb.bundle, id])
        var master: Int32 = -1
        do {
            master = try listener.receiveFD(timeout: 30)
        } catch {
            let r = create.wait(timeout: 30)
            Issue.record("\(error); create: \(r)")
            return
        }
        defer { close(master) }
        let c = create.wait(timeout: 60)
        #expect(c.status == 0, "\(c)")
        #expect(isatty(master) == 1, "the received fd should be a pty master")

        #expect(sb.run(["start", id]).status == 0)
        let out = readPTY(master) { $0.contains("hello-from-pty") }
        // The pty turns "\n" into "\r\n".
        #expect(out.contains("/dev/pts/0"), "tty should print /dev/pts/0, got \(out.debugDescription)")
        #expect(out.contains("30 100"), "consoleSize should give 30 rows x 100 columns, got \(out.debugDescription)")
        #expect(out.contains("hello-from-pty"), "got \(out.debugDescription)")
        #expect(sb.waitForStatus(id, "stopped"))
    }

    @Test func terminalWithoutConsoleSocketFailsDetached() throws {
        let sb = try Sandbox("noconsole", patch: ["process": ["terminal": true, "args": ["true"]]])
        defer { sb.cleanup() }
        let id = sb.newID("noconsole")
        // runc: "cannot allocate tty if runc will detach without setting console socket"
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, id]), containing: "console socket")
        Leftovers.check(root: sb.root, id: id)
    }

    // MARK: list

    @Test func list() throws {
        let sb = try Sandbox("list", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }

        // Empty root. runc prints "null" for `list --format json` when there are no containers.
        let emptyQ = sb.run(["list", "-q"])
        #expect(emptyQ.status == 0 && emptyQ.stdout.isEmpty, "\(emptyQ)")
        let emptyJSON = sb.run(["list", "--format", "json"])
        #expect(emptyJSON.status == 0, "\(emptyJSON)")
        let emptyParsed = parseJSON(emptyJSON.stdout)
        #expect(emptyParsed is NSNull || (emptyParsed as? [Any])?.isEmpty == true, "\(emptyJSON)")

        let created = sb.newID("list-a")
        let running = sb.newID("list-b")
        #expect(sb.run(["create", "--bundle", sb.bundle, created]).status == 0)
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, running]).status == 0)

        let q = sb.run(["list", "-q"])
        #expect(q.status == 0, "\(q)")
        #expect(q.stdout.split(separator: "\n").map(String.init).sorted() == [created, running].sorted(), "\(q)")
        let quiet = sb.run(["list", "--quiet"])
        #expect(quiet.stdout == q.stdout)

        // Table: ID PID STATUS BUNDLE CREATED OWNER
        let t = sb.run(["list"])
        #expect(t.status == 0, "\(t)")
        let lines = t.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], "\(t)")
        let rows = Dictionary(lines.dropFirst().compactMap { line -> (String, [String])? in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            return f.isEmpty ? nil : (f[0], f)
        }, uniquingKeysWith: { a, _ in a })
        #expect(rows[created]?[2] == "created", "\(t)")
        #expect(rows[running]?[2] == "running", "\(t)")
        #expect(rows[running]?[3] == sb.bundle, "\(t)")

        for args in [["list", "--format", "json"], ["list", "--format=json"], ["list", "-f", "json"]] {
            let j = sb.run(args)
            #expect(j.status == 0, "\(j)")
            let arr = parseJSON(j.stdout) as? [[String: Any]]
            #expect(arr?.count == 2, "\(args): \(j)")
            let byID = Dictionary((arr ?? []).map { ($0["id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byID[created]?["status"] as? String == "created", "\(j)")
            #expect(byID[running]?["status"] as? String == "running", "\(j)")
            #expect(byID[running]?["bundle"] as? String == sb.bundle, "\(j)")
            #expect((jsonNumber(byID[running]?["pid"]) ?? 0) > 0, "\(j)")
            #expect(byID[running]?["created"] is String, "\(j)")
        }
    }

    // MARK: exec

    @Test func exec() throws {
        let sb = try Sandbox("exec", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("exec")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)

        let hi = sb.run(["exec", id, "echo", "hi"])
        #expect(hi.status == 0 && hi.stdout == "hi\n", "\(hi)")

        let env = sb.run(["exec", "--env", "FOO=bar", id, "sh", "-c", "echo $FOO"])
        #expect(env.stdout == "bar\n", "\(env)")
        let env2 = sb.run(["exec", "-e", "A=1", "-e", "B=2", id, "sh", "-c", "echo $A$B"])
        #expect(env2.stdout == "12\n", "\(env2)")

        let cwd = sb.run(["exec", "--cwd", "/tmp", id, "pwd"])
        #expect(cwd.stdout == "/tmp\n", "\(cwd)")

        let user = sb.run(["exec", "--user", "1000:1000", id, "id"])
        #expect(user.stdout == "uid=1000 gid=1000\n", "\(user)")
        let user2 = sb.run(["exec", "-u", "65534", id, "id", "-u"])
        #expect(user2.stdout == "65534\n", "\(user2)")

        // Flags after the id belong to the command run in the container.
        let args = sb.run(["exec", id, "sh", "-c", "echo $0 $1", "--env", "x"])
        #expect(args.stdout == "--env x\n", "\(args)")

        let code = sb.run(["exec", id, "sh", "-c", "exit 5"])
        #expect(code.status == 5, "exec returns the process's exit code: \(code)")

        // runc: exec failed: unable to start container process: exec: "/no/such/exe": stat /no/such/exe: no such file or directory
        let missing = sb.run(["exec", id, "/no/such/exe"])
        expectOneErrorLine(missing, containing: "/no/such/exe")

        #expect(sb.status(id) == "running", "exec must not disturb the container")
    }

    @Test func execProcessFile() throws {
        let sb = try Sandbox("execp", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("execp")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        let process: [String: Any] = [
            "terminal": false, "user": ["uid": 0, "gid": 0],
            "args": ["sh", "-c", "echo from-process-file $BAR; pwd"],
            "env": ["PATH=/bin", "BAR=baz"], "cwd": "/dev",
        ]
        let path = sb.tmp + "/process.json"
        try writeFile(path, try jsonString(process))
        for flag in ["--process", "-p"] {
            let r = sb.run(["exec", flag, path, id])
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout == "from-process-file baz\n/dev\n", "\(flag): \(r)")
        }
    }

    @Test func execDetachedWithPidFile() throws {
        let sb = try Sandbox("execd", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("execd")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        let pidPath = sb.tmp + "/exec.pid"
        let r = sb.run(["exec", "-d", "--pid-file", pidPath, id, "sleep", "1000"])
        #expect(r.status == 0, "\(r)")
        let pid = Int(readFile(pidPath)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(pid > 0, "exec --pid-file content")
        #expect(processAlive(pid), "the detached exec process runs")
        let comm = readFile("/proc/\(pid)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(comm == "sleep", "pid file names the exec'd process, comm=\(String(describing: comm))")
        #expect(pid != Int(jsonNumber(sb.state(id)?["pid"]) ?? 0), "not the init pid")
    }

    @Test func execInStoppedContainerFails() throws {
        let sb = try Sandbox("execstop", patch: ["process": ["args": ["true"]]])
        defer { sb.cleanup() }
        let id = sb.newID("execstop")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        #expect(sb.waitForStatus(id, "stopped"))
        // runc: "exec failed: cannot exec in a stopped container"
        expectOneErrorLine(sb.run(["exec", id, "true"]), containing: "cannot exec in a stopped container")
    }

    // MARK: option positions (as runc/urfave-cli accepts them)

    @Test func optionSpellings() throws {
        let sb = try Sandbox("opts", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let a = sb.newID("opts-a"), b = sb.newID("opts-b"), c = sb.newID("opts-c"), d = sb.newID("opts-d")
        // --root before the command, --bundle=B
        let r1 = rt(["--root", sb.root, "create", "--bundle=" + sb.bundle, a])
        #expect(r1.status == 0, "\(r1)")
        // --root=R, -b B
        let r2 = rt(["--root=" + sb.root, "create", "-b", sb.bundle, b])
        #expect(r2.status == 0, "\(r2)")
        // several flags in any order before the id
        let pid = sb.tmp + "/c.pid"
        let r3 = rt(["--root", sb.root, "run", "--pid-file", pid, "-d", "--bundle", sb.bundle, c])
        #expect(r3.status == 0, "\(r3)")
        #expect(readFile(pid) != nil)
        // the bundle defaults to the current directory
        let r4 = rt(["--root", sb.root, "create", d], cwd: sb.bundle)
        #expect(r4.status == 0, "\(r4)")
        #expect(sb.state(d)?["bundle"] as? String == sb.bundle)

        let q = sb.run(["list", "-q"])
        #expect(Set(q.stdout.split(separator: "\n").map(String.init)) == [a, b, c, d], "\(q)")
        // --log/--log-format are global options too (before the command).
        let logPath = sb.tmp + "/opts.log"
        let st = rt(["--log", logPath, "--log-format", "json", "--root", sb.root, "state", a])
        #expect(st.status == 0, "\(st)")
        #expect(sb.run(["delete", "--force", a]).status == 0)
    }

    // MARK: spec / features

    @Test func specWritesConfig() throws {
        try TestEnv.requireRuntime()
        let dir = try makeScratchDir("spec")
        defer { removeTree(dir) }
        let r = rt(["spec"], cwd: dir)
        #expect(r.status == 0, "\(r)")
        let config = try #require(parseJSON(readFile(dir + "/config.json") ?? "") as? [String: Any],
                                  "spec must write a JSON config.json")
        #expect((config["ociVersion"] as? String)?.isEmpty == false)
        let process = config["process"] as? [String: Any]
        #expect(process?["args"] as? [String] == ["sh"], "runc's default args are [\"sh\"]")
        #expect((config["root"] as? [String: Any])?["path"] as? String == "rootfs")

        // runc: "File config.json exists. Remove it first"
        expectOneErrorLine(rt(["spec"], cwd: dir), containing: "config.json exists")

        let other = dir + "/other"
        mkdir(other, 0o755)
        let b = rt(["spec", "--bundle", other])
        #expect(b.status == 0, "\(b)")
        #expect(parseJSON(readFile(other + "/config.json") ?? "") is [String: Any])
    }

    @Test func features() throws {
        try TestEnv.requireRuntime()
        let r = rt(["features"])
        #expect(r.status == 0, "\(r)")
        let f = try #require(parseJSON(r.stdout) as? [String: Any], "features must print JSON: \(r)")
        #expect((f["ociVersionMin"] as? String)?.isEmpty == false, "\(r.stdout)")
        #expect((f["ociVersionMax"] as? String)?.isEmpty == false, "\(r.stdout)")
        if let hooks = f["hooks"] as? [String] {
            #expect(Set(hooks).isSubset(of: ["prestart", "createRuntime", "createContainer",
                                            "startContainer", "poststart", "poststop"]), "\(hooks)")
        }
        if let ns = (f["linux"] as? [String: Any])?["namespaces"] as? [String] {
            #expect(ns.contains("pid") && ns.contains("mount"), "\(ns)")
        }
    }

    // MARK: bad input

    @Test("unknown container id", arguments: [
        ["state"], ["start"], ["kill"], ["kill", "@ID@", "KILL"], ["delete"], ["exec", "@ID@", "true"],
    ])
    func unknownID(_ command: [String]) throws {
        let sb = try Sandbox("unknown")
        defer { sb.cleanup() }
        let id = sb.newID("nosuch")
        let args = command.count == 1 ? command + [id] : command.map { $0 == "@ID@" ? id : $0 }
        // runc: "container does not exist" (exec: "exec failed: container does not exist")
        expectOneErrorLine(sb.run(args), containing: "does not exist")
    }

    @Test("invalid container ids", arguments: ["a/b", "..", "../escape", "/abs", "a b"])
    func invalidID(_ id: String) throws {
        let sb = try Sandbox("badid")
        defer { sb.cleanup() }
        // runc: "runc create failed: invalid container ID format"
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, id]), containing: "invalid container ID format")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: sb.root)) ?? []
        #expect(entries.isEmpty, "nothing may be created in the state root: \(entries)")
        #expect(!fileExists(sb.tmp + "/escape"), "a ../ id must not escape the state root")
    }

    @Test func emptyID() throws {
        let sb = try Sandbox("emptyid")
        defer { sb.cleanup() }
        // runc: "runc create failed: container id cannot be empty"
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, ""]), containing: "container id cannot be empty")
    }

    @Test func duplicateID() throws {
        let sb = try Sandbox("dup", patch: ["process": ["args": ["sleep", "1000"]]])
        defer { sb.cleanup() }
        let id = sb.newID("dup")
        #expect(sb.run(["create", "--bundle", sb.bundle, id]).status == 0)
        let pid = Int(jsonNumber(sb.state(id)?["pid"]) ?? 0)
        // runc: "runc create failed: container with given ID already exists"
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, id]), containing: "already exists")
        expectOneErrorLine(sb.run(["run", "-d", "--bundle", sb.bundle, id]), containing: "already exists")
        #expect(sb.status(id) == "created", "the existing container is untouched")
        #expect(Int(jsonNumber(sb.state(id)?["pid"]) ?? 0) == pid)
    }

    @Test func missingRootfs() throws {
        let sb = try Sandbox("norootfs", patch: ["root": ["path": "no-such-rootfs"]])
        defer { sb.cleanup() }
        let id = sb.newID("norootfs")
        // runc: "runc create failed: invalid rootfs: stat <bundle>/no-such-rootfs: no such file or directory"
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, id]), containing: "no-such-rootfs")
        Leftovers.check(root: sb.root, id: id)
    }

    @Test func missingExecutable() throws {
        let sb = try Sandbox("noexe", patch: ["process": ["args": ["/bin/no-such-exe"]]])
        defer { sb.cleanup() }
        let id = sb.newID("noexe")
        // runc: runc create failed: unable to start container process: exec: "/bin/no-such-exe": stat /bin/no-such-exe: no such file or directory
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, id]), containing: "/bin/no-such-exe")
        Leftovers.check(root: sb.root, id: id)
        expectOneErrorLine(sb.run(["state", id]), containing: "does not exist")

        let runID = sb.newID("noexe-run")
        expectOneErrorLine(sb.run(["run", "--bundle", sb.bundle, runID]), containing: "/bin/no-such-exe")
        Leftovers.check(root: sb.root, id: runID)
    }

    @Test func missingBundleOrConfig() throws {
        let sb = try Sandbox("nobundle")
        defer { sb.cleanup() }
        let id = sb.newID("nobundle")
        // runc: "runc create failed: chdir <dir>: no such file or directory"
        expectOneErrorLine(sb.run(["create", "--bundle", sb.tmp + "/no-such-bundle", id]), containing: "no-such-bundle")
        let empty = sb.tmp + "/empty-bundle"
        mkdir(empty, 0o755)
        // runc: "runc create failed: JSON specification file config.json not found"
        expectOneErrorLine(sb.run(["create", "--bundle", empty, id]), containing: "config.json")
        Leftovers.check(root: sb.root, id: id)
    }

    @Test func logFileJSON() throws {
        let sb = try Sandbox("log")
        defer { sb.cleanup() }
        let id = sb.newID("log")
        let logPath = sb.tmp + "/runtime.log"
        let r = rt(["--log", logPath, "--log-format", "json", "--root", sb.root, "state", id])
        #expect(r.status != 0)
        // With --log, runc still prints the bare message on stderr ("container does not exist").
        #expect(r.stderr.contains("does not exist"), "\(r)")
        let log = try #require(readFile(logPath), "--log file not written")
        let entries = log.split(separator: "\n").compactMap { parseJSON(String($0)) as? [String: Any] }
        #expect(!entries.isEmpty, "log lines must be JSON objects: \(log)")
        // runc: {"level":"error","msg":"container does not exist","time":"..."}
        let err = entries.first { $0["level"] as? String == "error" }
        #expect(err != nil, "an error entry with \"level\":\"error\": \(log)")
        #expect((err?["msg"] as? String)?.contains("does not exist") == true, "\(log)")
        #expect(err?["time"] is String, "\(log)")
    }
}
