import ContainerSpec
import Foundation
import Glibc
import RPC
import Testing

/// Specs from the builder run by the real berth-runtime on a busybox rootfs (root only:
/// namespaces, mounts, cgroups). Binaries: $BERTH_RUNTIME and $BERTH_INIT, else next to
/// this test binary (build them with `swift build --product berth-runtime` and
/// `--product berth-init` into the same scratch path). A missing binary fails the test.
enum RunEnv {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func binary(_ name: String, env: String) throws -> String {
        if let p = ProcessInfo.processInfo.environment[env], !p.isEmpty { return p }
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [binDir.appendingPathComponent(name).path]
        // swift-testing on Linux runs <scratch>/<triple>/debug/BerthPackageTests.xctest.
        candidates.append(binDir.deletingLastPathComponent().appendingPathComponent("debug/" + name).path)
        candidates += [packageRoot + "/.build-spec/debug/" + name, packageRoot + "/.build/debug/" + name]
        for c in candidates where access(c, X_OK) == 0 { return c }
        throw TestError("\(name) not found (looked in \(candidates)): build it with `swift build --product \(name)` or set \(env)")
    }

    /// A busybox rootfs (scripts/make-rootfs.sh) with an `app` user in two extra groups.
    static func makeRootfs(in dir: String) throws {
        let r = try run(["/bin/sh", packageRoot + "/scripts/make-rootfs.sh", dir])
        guard r.status == 0 else { throw TestError("make-rootfs.sh failed: \(r.output)") }
        try (samplePasswd).write(toFile: dir + "/etc/passwd", atomically: false, encoding: .utf8)
        try (sampleGroup).write(toFile: dir + "/etc/group", atomically: false, encoding: .utf8)
    }

    struct Result { var status: Int32; var output: String }

    /// Runs a program to its end, stdout and stderr together.
    static func run(_ argv: [String], timeout: Double = 60) throws -> Result {
        let p = try start(argv)
        return try p.finish(timeout: timeout)
    }

    static func start(_ argv: [String]) throws -> Running {
        let outPath = NSTemporaryDirectory() + "berth-spec-out-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try out.close()
        return Running(process: p, outPath: outPath)
    }

    final class Running {
        let process: Process
        let outPath: String
        init(process: Process, outPath: String) { self.process = process; self.outPath = outPath }
        var output: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

        func finish(timeout: Double) throws -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { process.terminate(); throw TestError("timed out; output so far: \(output)") }
            defer { unlink(outPath) }
            return Result(status: process.terminationStatus, output: output)
        }
    }
}

/// One container: a bundle with a copy-free rootfs (shared, read-only use) and its own state root.
final class RunBundle {
    let dir: TempDir
    let id: String
    let runtime: String
    var rootfs: String { dir.path + "/rootfs" }
    var state: String { dir.path + "/state" }

    init() throws {
        runtime = try RunEnv.binary("berth-runtime", env: "BERTH_RUNTIME")
        dir = try TempDir("run")
        id = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        try RunEnv.makeRootfs(in: rootfs)
    }

    func write(config: BerthAPI.ContainerConfig, hostConfig: BerthAPI.HostConfig = .init(), initPath: String? = nil) throws {
        let built = try SpecBuilder().build(.init(id: id, config: config, hostConfig: hostConfig, rootfs: rootfs, initPath: initPath))
        try Data(built.json()).write(to: URL(fileURLWithPath: dir.path + "/config.json"))
    }

    func runArgs() -> [String] { [runtime, "--root", state, "run", "--bundle", dir.path, id] }

    func run(_ cmd: [String], user: String? = nil, hostConfig: BerthAPI.HostConfig = .init(), initPath: String? = nil) throws -> RunEnv.Result {
        var config = BerthAPI.ContainerConfig()
        config.cmd = cmd
        config.user = user
        try write(config: config, hostConfig: hostConfig, initPath: initPath)
        return try RunEnv.run(runArgs())
    }
}

func requireRoot() throws {
    guard geteuid() == 0 else { throw TestError("these tests need root (namespaces, mounts, cgroups)") }
}

@Suite(.serialized) struct RunTests {
    @Test func userAndGroupsAsResolved() throws {
        try requireRoot()
        let b = try RunBundle()
        let r = try b.run(["id"], user: "app")
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("uid=1000(app) gid=1000(app)"), "\(r.output)")
        #expect(r.output.contains("10(wheel)") && r.output.contains("29(audio)"), "\(r.output)")
    }

    @Test func defaultCapabilitiesSeccompAndHostname() throws {
        try requireRoot()
        let b = try RunBundle()
        let r = try b.run(["sh", "-c", "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; hostname; echo HOME=$HOME"])
        #expect(r.status == 0, "\(r.output)")
        // Docker's well-known default set.
        #expect(r.output.contains("CapEff:\t00000000a80425fb"), "\(r.output)")
        #expect(r.output.contains("CapBnd:\t00000000a80425fb"), "\(r.output)")
        #expect(r.output.contains("Seccomp:\t2"), "\(r.output)")
        #expect(r.output.contains("NoNewPrivs:\t0"), "\(r.output)")
        #expect(r.output.contains(b.id.prefix(12) + "\n"), "\(r.output)")
        #expect(r.output.contains("HOME=/root"), "\(r.output)")
    }

    @Test func seccompDeniesNamespaceCreation() throws {
        try requireRoot()
        let b = try RunBundle()
        // unshare(2) needs CAP_SYS_ADMIN in the profile: EPERM from the filter.
        let r = try b.run(["unshare", "-m", "true"])
        #expect(r.status != 0, "\(r.output)")
        #expect(r.output.contains("Operation not permitted"), "\(r.output)")
    }

    /// A rule that tests an argument, inside the whole default profile (which
    /// the runtime compiles as a binary tree of syscall numbers):
    /// personality(PER_LINUX32) is one of the values Docker allows.
    @Test func seccompArgumentRuleInTheDefaultProfile() throws {
        try requireRoot()
        let b = try RunBundle()
        let r = try b.run(["linux32", "uname", "-m"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output == "i686\n", "\(r.output)")
    }

    @Test func noNewPrivilegesAndCapDrop() throws {
        try requireRoot()
        let b = try RunBundle()
        var hc = BerthAPI.HostConfig()
        hc.securityOpt = ["no-new-privileges"]
        hc.capDrop = ["ALL"]
        hc.capAdd = ["chown"]
        let r = try b.run(["grep", "-E", "^(CapEff|NoNewPrivs):", "/proc/self/status"], hostConfig: hc)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("CapEff:\t0000000000000001"), "\(r.output)")
        #expect(r.output.contains("NoNewPrivs:\t1"), "\(r.output)")
    }

    @Test func initIsPID1AndPropagatesTheExitCode() throws {
        try requireRoot()
        let initPath = try RunEnv.binary("berth-init", env: "BERTH_INIT")
        let b = try RunBundle()
        var hc = BerthAPI.HostConfig()
        hc.`init` = true
        let r = try b.run(["sh", "-c", "cat /proc/1/comm; echo parent=$PPID; exit 3"], hostConfig: hc, initPath: initPath)
        #expect(r.status == 3, "\(r.output)")
        #expect(r.output.contains("berth-init\n"), "\(r.output)")
        #expect(r.output.contains("parent=1\n"), "\(r.output)")

        let missing = try b.run(["/no/such/program"], hostConfig: hc, initPath: initPath)
        #expect(missing.status == 127, "\(missing.output)")
        #expect(missing.output.contains("berth-init: exec /no/such/program"), "\(missing.output)")
    }

    @Test func initReapsOrphans() throws {
        try requireRoot()
        let initPath = try RunEnv.binary("berth-init", env: "BERTH_INIT")
        let b = try RunBundle()
        var hc = BerthAPI.HostConfig()
        hc.`init` = true
        // The inner shell starts sleep and is replaced by `true`, which exits: sleep is
        // re-parented to PID 1 and becomes a zombie when it ends, unless PID 1 reaps it.
        let script = """
            sh -c 'sleep 0.6 & exec true'
            sleep 0.2
            for p in $(pidof sleep); do grep PPid /proc/$p/status; done
            sleep 1
            zombies=0
            for f in /proc/[0-9]*/status; do grep -q '^State:.*Z' "$f" 2>/dev/null && zombies=$((zombies+1)); done
            echo zombies=$zombies
            """
        let r = try b.run(["sh", "-c", script], hostConfig: hc, initPath: initPath)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("PPid:\t1\n"), "the orphan is berth-init's: \(r.output)")
        #expect(r.output.contains("zombies=0"), "\(r.output)")
    }

    @Test func initForwardsSIGTERM() throws {
        try requireRoot()
        let initPath = try RunEnv.binary("berth-init", env: "BERTH_INIT")
        let b = try RunBundle()
        var hc = BerthAPI.HostConfig()
        hc.`init` = true
        var config = BerthAPI.ContainerConfig()
        config.cmd = ["sh", "-c", "trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done"]
        try b.write(config: config, hostConfig: hc, initPath: initPath)
        let running = try RunEnv.start(b.runArgs())
        let deadline = Date().addingTimeInterval(20)
        while !running.output.contains("ready") && running.process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(running.output.contains("ready"), "\(running.output)")
        let k = try RunEnv.run([b.runtime, "--root", b.state, "kill", b.id, "TERM"])
        #expect(k.status == 0, "\(k.output)")
        let r = try running.finish(timeout: 20)
        #expect(r.status == 42, "\(r.output)")
        #expect(r.output.contains("got TERM"), "\(r.output)")
    }
}
