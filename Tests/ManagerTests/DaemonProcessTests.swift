import Foundation
import Glibc
import OCI
import RPC
import Testing
@testable import Manager

/// The real berthd and berth binaries, as a user runs them: built debug
/// binaries beside the test bundle (or $BERTHD / $BERTH), a temp root, state
/// and socket per test.
@Suite(.serialized) struct DaemonProcessTests {
    static func binary(_ name: String, env: String) -> String {
        if let p = ProcessInfo.processInfo.environment[env] { return p }
        // The test bundle lives in .build*/debug/; so do the products.
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = bundle.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return bundle.deletingLastPathComponent().appendingPathComponent(name).path
    }
    static let berthd = binary("berthd", env: "BERTHD")
    static let berth = binary("berth", env: "BERTH")

    struct Result { var status: Int32; var out: String; var err: String }

    /// Runs a command to its end.
    static func run(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> Result {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "BERTH_HOST")
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// SIGTERM to a test's berthd, and its exit awaited. berthd gives requests in
    /// flight and the exits it is handling 5 s (DaemonOptions.shutdownGraceMillis)
    /// and their connections 0.5 s more; waiting only 5 s failed once in CI.
    static func terminate(_ p: Foundation.Process, log: () -> String) throws {
        kill(p.processIdentifier, SIGTERM)
        do { try waitUntil("berthd to exit", timeoutMillis: 15_000) { !p.isRunning } } catch {
            // The log's end says what shutdown was waiting for.
            throw TestFailure("berthd did not exit within 15 s of SIGTERM; its log ends:\n\(log().suffix(3000))")
        }
    }

    /// At a test's end: SIGTERM first, so that berthd finishes the exits it is
    /// handling (a `--rm` teardown goes on after `run --rm` returns), which
    /// SIGKILL would leave with their shims and mounts to a next start that never comes.
    static func terminateOrKill(_ p: Foundation.Process) {
        guard p.isRunning else { return }
        if (try? terminate(p, log: { "" })) == nil { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// A berthd running on temp directories.
    final class Daemon {
        let dir: String
        var root: String { dir + "/root" }
        var state: String { dir + "/state" }
        var socket: String { dir + "/state/berthd.sock" }
        var logPath: String { dir + "/berthd.log" }
        var process: Foundation.Process?
        /// The default network's bridge this berthd was given (TestBridge).
        var bridge = ""

        init() {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("berthd-\(UUID().uuidString.prefix(8))").path
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }

        var args: [String] { ["--root", root, "--state", state, "--socket", socket] }

        func start(_ extra: [String] = []) throws {
            var extra = extra
            // A bridge and subnet of its own (added to the test's own configuration, if any).
            if let i = extra.firstIndex(of: "--config"), i + 1 < extra.count {
                if let text = try? String(contentsOfFile: extra[i + 1], encoding: .utf8) {
                    let (json, bridge) = TestBridge.configure(text)
                    try json.write(toFile: extra[i + 1], atomically: true, encoding: .utf8)
                    self.bridge = bridge
                }
            } else {
                // A restart keeps the bridge it had (its containers are on it).
                let path = dir + "/berthd-network.json"
                if bridge.isEmpty {
                    let (json, bridge) = TestBridge.configure("{}")
                    try json.write(toFile: path, atomically: true, encoding: .utf8)
                    self.bridge = bridge
                }
                extra += ["--config", path]
            }
            let p = Foundation.Process()
            p.executableURL = URL(fileURLWithPath: DaemonProcessTests.berthd)
            p.arguments = args + extra
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            p.standardError = FileHandle(forWritingAtPath: logPath)
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            process = p
            try waitUntil("berthd to listen on \(socket)") { UnixSocketListener.probe(socket) == .live || !p.isRunning }
            guard p.isRunning else { throw DaemonError("berthd exited: \(log)") }
        }

        var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        /// SIGTERM, then the exit status.
        func stop() throws -> Int32 {
            guard let p = process else { return -1 }
            try DaemonProcessTests.terminate(p, log: { self.log })
            process = nil
            return p.terminationStatus
        }

        func berth(_ args: [String]) throws -> Result {
            try DaemonProcessTests.run(DaemonProcessTests.berth, ["-H", "unix://" + socket] + args)
        }

        deinit {
            if let p = process { DaemonProcessTests.terminateOrKill(p) }
            TestBridge.remove(bridge)
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    @Test func versionShowsClientAndServer() async throws {
        try await offPool {
            let d = Daemon()
            try d.start()
            let r = try d.berth(["version"])
            #expect(r.status == 0, "\(r.err)")
            let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "Client:")
            #expect(lines.contains(" Version:           \(BuildInfo.version)"))
            #expect(lines.contains(" OS/Arch:           linux/\(BuildInfo.arch)"))
            #expect(lines.contains("Server: Berth Engine"))
            #expect(lines.contains(" Engine:"))
            #expect(lines.contains("  API version:      1 (minimum version 1)"))
            let f = try d.berth(["version", "--format", "{{.Server.Version}} {{.Client.os}}"])
            #expect(f.out == "\(BuildInfo.version) linux\n")
        }
    }

    @Test func infoShowsTheDaemonsDirectories() async throws {
        try await offPool {
            let d = Daemon()
            try d.start()
            let r = try d.berth(["info"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.hasPrefix("Client:\n Version:    \(BuildInfo.version)\n Debug Mode: false\n\nServer:\n Containers: 0\n  Running: 0\n"))
            #expect(r.out.contains("\n Berth Root Dir: \(d.root)\n"))
            #expect(r.out.contains("\n Berth State Dir: \(d.state)\n"))
            #expect(r.out.contains("\n OSType: linux\n"))
            let f = try d.berth(["info", "--format", "{{.ServerVersion}}|{{json .InsecureRegistries}}|{{.Root}}"])
            #expect(f.out == "\(BuildInfo.version)|[]|\(d.root)\n")
            // BERTH_HOST is read when -H is absent.
            let e = try DaemonProcessTests.run(DaemonProcessTests.berth, ["info", "--format", "{{.Pid}}"], env: ["BERTH_HOST": "unix://" + d.socket])
            #expect(e.out == "\(d.process!.processIdentifier)\n")
        }
    }

    @Test func directoriesAndSocketGetTheirModes() async throws {
        try await offPool {
            let d = Daemon()
            try d.start()
            var st = stat()
            stat(d.root, &st); #expect(st.st_mode & 0o777 == 0o700)
            stat(d.state, &st); #expect(st.st_mode & 0o777 == 0o711)
            lstat(d.socket, &st); #expect(st.st_mode & 0o777 == 0o660)
        }
    }

    @Test func aSecondInstanceOnTheSameRootIsRefusedNamingThePid() async throws {
        try await offPool {
            let d = Daemon()
            try d.start()
            let r = try DaemonProcessTests.run(DaemonProcessTests.berthd, ["--root", d.root, "--state", d.dir + "/state2", "--socket", d.dir + "/other.sock"])
            #expect(r.status == 1)
            #expect(r.err == "berthd: another berthd (pid \(d.process!.processIdentifier)) is already running with this root: \(d.root)/berthd.lock is locked\n")
            // Another root but the same socket: refused too, and the socket still serves the first.
            // (Its own configuration: the default network is set up before the socket is checked.)
            let s = try DaemonProcessTests.run(DaemonProcessTests.berthd, ["--root", d.dir + "/root2", "--state", d.state, "--socket", d.socket,
                                                                            "--config", d.dir + "/berthd-network.json"])
            #expect(s.status == 1)
            #expect(s.err.contains("another berthd is already serving \(d.socket)"))
            #expect(try d.berth(["version"]).status == 0)
        }
    }

    /// `run --rm` returns once the record is gone; the container's teardown
    /// (shim, runtime state, rootfs, network namespace) goes on after it. A
    /// SIGTERM right then lets it finish: no shim and no mount of this
    /// berthd's state is left behind.
    @Test func sigtermLetsARemovalInProgressFinish() async throws {
        try await offPool {
            let d = try ContainerCommandsTests.daemonWithImage()
            // A race each time (the teardown against berthd's exit): five tries.
            for _ in 0..<5 {
                let r = try d.berth(["run", "--rm", "bb:1", "true"])
                #expect(r.status == 0, "\(r)")
                #expect(try d.stop() == 0)
                let left = ProcessTable.withCommandLine(containing: d.state + "/").map(ProcessTable.commandLine)
                #expect(left.isEmpty, "\(left)")
                let mounts = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(d.state + "/") }
                #expect(mounts.isEmpty, "\(mounts)")
                #expect(!d.log.contains("still being handled"), "\(d.log.suffix(2000))")
                try d.start()
            }
        }
    }

    @Test func sigtermStopsCleanly() async throws {
        try await offPool {
            let d = Daemon()
            try d.start()
            #expect(try d.stop() == 0)
            #expect(access(d.socket, F_OK) != 0)
            #expect(d.log.contains("msg=\"shutting down\" signal=SIGTERM"))
            #expect(d.log.contains("msg=\"berthd stopped\""))
            // The lock went with it: a new berthd starts on the same root.
            try d.start()
            #expect(try d.stop() == 0)
        }
    }

    @Test func aStaleSocketIsRemoved() async throws {
        try await offPool {
            let d = Daemon()
            try FileManager.default.createDirectory(atPath: d.state, withIntermediateDirectories: true)
            // A socket nobody listens on, as a killed berthd leaves it.
            let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = try UnixSocketListener.address(d.socket)
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            close(s)
            #expect(UnixSocketListener.probe(d.socket) == .stale)
            try d.start()
            #expect(d.log.contains("msg=\"removed stale socket\""))
            #expect(try d.berth(["version"]).status == 0)
        }
    }

    @Test func anUnknownConfigKeyIsAnErrorNamingIt() async throws {
        try await offPool {
            let d = Daemon()
            let config = d.dir + "/berthd.json"
            try #"{"defaultRegistry":"docker.io","insecure_registries":["x"]}"#.write(toFile: config, atomically: true, encoding: .utf8)
            let r = try DaemonProcessTests.run(DaemonProcessTests.berthd, d.args + ["--config", config])
            #expect(r.status == 1)
            #expect(r.err == "berthd: \(config): unknown configuration key \"insecure_registries\" (known: bip, bridge, caFiles, defaultRegistry, insecureRegistries, logLevel, registryMirrors)\n")
            let missing = try DaemonProcessTests.run(DaemonProcessTests.berthd, d.args + ["--config", d.dir + "/nope.json"])
            #expect(missing.err == "berthd: config \(d.dir)/nope.json: No such file or directory\n")
            let level = try DaemonProcessTests.run(DaemonProcessTests.berthd, d.args + ["--log-level", "loud"])
            #expect(level.err == "berthd: --log-level: unknown level \"loud\" (debug, info, warn, error)\n")
        }
    }

    @Test func configSettingsReachInfo() async throws {
        try await offPool {
            let d = Daemon()
            let config = d.dir + "/berthd.json"
            try #"{"insecureRegistries":["registry.local:5000"],"registryMirrors":["https://mirror.local"],"logLevel":"debug"}"#.write(toFile: config, atomically: true, encoding: .utf8)
            try d.start(["--config", config])
            let r = try d.berth(["info"])
            #expect(r.out.contains(" Insecure Registries:\n  127.0.0.0/8\n  ::1/128\n  registry.local:5000\n Registry Mirrors:\n  https://mirror.local\n"))
            #expect(r.out.contains(" Debug Mode: true\n"))
            #expect(d.log.contains("level=debug msg=\"request\" method=info"))
        }
    }

    @Test func invalidJSONRPCOverTheRealSocket() async throws {
        try await offPool {
            let d = Daemon()
            try d.start()
            let s = try RawConnection(d.socket)
            #expect(try s.exchange("not json")["error"]?["code"] == -32700)
            #expect(try s.exchange(#"{"jsonrpc":"2.0","id":1,"method":"image.nope"}"#)["error"]?["message"] == "method not found: image.nope")
            #expect(try s.exchange(#"{"jsonrpc":"2.0","id":2,"method":"version"}"#)["result"]?["apiVersion"] == 1)
        }
    }

    @Test func noDaemonIsAClearErrorWithDockersWording() async throws {
        try await offPool {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-none-\(getpid()).sock").path
            let r = try DaemonProcessTests.run(DaemonProcessTests.berth, ["-H", "unix://" + path, "info"])
            #expect(r.status == 1)
            #expect(r.err == "Cannot connect to the berth daemon at unix://\(path). Is berthd running?\n")
            let v = try DaemonProcessTests.run(DaemonProcessTests.berth, ["-H", "unix://" + path, "version"])
            #expect(v.status == 1)
            #expect(v.out.hasPrefix("Client:\n Version:"))
            #expect(!v.out.contains("Server:"))
            // And through the library.
            let c = try BerthClient(host: path)
            #expect(throws: BerthError(.unavailable, "Cannot connect to the berth daemon at unix://\(path). Is berthd running?", fromDaemon: false)) {
                try c.version()
            }
        }
    }

    @Test func usageErrorsExit125() async throws {
        try await offPool {
            let r = try DaemonProcessTests.run(DaemonProcessTests.berth, ["info", "--bogus"])
            #expect(r.status == 125)
            #expect(r.err == "berth: Unknown option '--bogus'\nSee 'berth info --help'.\n")
            let t = try DaemonProcessTests.run(DaemonProcessTests.berth, ["-H", "/nonexistent.sock", "info", "--format", "{{nope .X}}"])
            #expect(t.status == 1)
            #expect(t.err == "template parsing error: template: function \"nope\" not defined\n")
        }
    }
}
