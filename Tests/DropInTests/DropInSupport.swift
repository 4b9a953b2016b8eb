// Shared helpers for the drop-in tests: containerd and podman, unchanged, driving
// berth-runtime in place of runc (docs/drop-in.md).
//
// Only Foundation, Glibc and Swift Testing. Every command runs with a deadline (a hung
// tool is killed with its whole process tree, never left behind), output goes to files
// (never pipes: a detached container that inherits them cannot make a test hang).
//
// Which berth-runtime: $BERTH_RUNTIME (absolute path), else <package root>/.build/release/
// berth-runtime, else .build/debug/berth-runtime. It is copied into each suite's scratch
// directory first, so a rebuild during the run cannot change the binary under test.
// Which runtimes: $BERTH_DROPIN_RUNTIMES, a comma list of "berth" and "runc" (default
// both: runc, the reference, shows what the same scenario does with the real thing).

import Foundation
import Glibc
import Testing

// MARK: - The runtimes under test

enum OCIRuntime: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case berth
    case runc

    var testDescription: String { self == .berth ? "berth-runtime" : "runc" }

    /// The runtimes the parameterized scenarios run with.
    static let selected: [OCIRuntime] = {
        guard let list = ProcessInfo.processInfo.environment["BERTH_DROPIN_RUNTIMES"], !list.isEmpty else {
            return allCases
        }
        let picked = list.split(separator: ",").compactMap { OCIRuntime(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        return picked.isEmpty ? [.berth] : picked
    }()
}

enum DropIn {
    /// <package root>, from this file's path: <root>/Tests/DropInTests/DropInSupport.swift.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var scriptsDir: String { packageRoot + "/tests/dropin" }

    /// The berth-runtime binary to copy, or why there is none (a failure, never a skip).
    static func berthSource() throws -> String {
        if let env = ProcessInfo.processInfo.environment["BERTH_RUNTIME"], !env.isEmpty {
            guard env.hasPrefix("/") else { throw DropInFailure("BERTH_RUNTIME must be an absolute path, got \(env)") }
            guard access(env, X_OK) == 0 else { throw DropInFailure("BERTH_RUNTIME=\(env) is not an executable file") }
            return env
        }
        for candidate in [".build/release/berth-runtime", ".build/debug/berth-runtime"] {
            let path = packageRoot + "/" + candidate
            if access(path, X_OK) == 0 { return path }
        }
        throw DropInFailure("berth-runtime not found: build it (swift build -c release -Xswiftc -static-executable --product berth-runtime) or set BERTH_RUNTIME")
    }

    /// runc, the reference runtime.
    static let runcPath: String? = which("runc")

    /// A fresh scratch directory (0711) under $BERTH_TEST_TMPDIR or /tmp.
    static func makeScratch(_ tag: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["BERTH_TEST_TMPDIR"] ?? "/tmp"
        mkdir(base, 0o755)
        var template = Array("\(base)/berth-dropin-\(tag)-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw DropInFailure("mkdtemp in \(base): \(String(cString: strerror(errno)))") }
        let dir = String(cString: p)
        chmod(dir, 0o711)
        return dir
    }

    /// Copies the berth-runtime under test into DIR/berth-runtime and returns that path.
    static func copyBerth(into dir: String) throws -> String {
        let source = try berthSource()
        let dest = dir + "/berth-runtime"
        try? FileManager.default.removeItem(atPath: dest)
        do { try FileManager.default.copyItem(atPath: source, toPath: dest) } catch {
            throw DropInFailure("copy \(source) to \(dest): \(error)")
        }
        chmod(dest, 0o755)
        return dest
    }

    /// Builds the busybox image (tests/dropin/make-image.sh) in DIR; returns DIR/image.tar.
    static func makeImage(in dir: String) throws -> String {
        let r = run(["sh", scriptsDir + "/make-image.sh", dir], timeout: 120)
        guard r.status == 0 else { throw DropInFailure("make-image.sh failed:\n\(r)") }
        return dir + "/image.tar"
    }

    static let imageName = "localhost/berth-busybox:latest"

    static func which(_ name: String) -> String? {
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let path = dir + "/" + name
            if access(path, X_OK) == 0 { return path }
        }
        return nil
    }
}

// MARK: - Dependencies: installed on first use, a visible skip only when impossible

enum Deps {
    private static let containerdTools = ["containerd", "ctr", "containerd-shim-runc-v2", "runc", "script", "tar", "sha256sum"]
    private static let podmanTools = ["podman", "conmon", "runc", "script", "tar", "sha256sum"]

    /// Runs tests/dropin/install-deps.sh once when a tool is missing (it installs with apt-get).
    private static let installLog: String? = {
        let missing = (containerdTools + podmanTools).filter { DropIn.which($0) == nil }
        if missing.isEmpty && access("/bin/busybox", X_OK) == 0 { return nil }
        guard geteuid() == 0 else { return "not root: cannot install \(missing.joined(separator: " "))" }
        let r = run(["sh", DropIn.scriptsDir + "/install-deps.sh"], timeout: 900)
        return r.status == 0 ? nil : "tests/dropin/install-deps.sh failed:\n\(r)"
    }()

    static let containerdReady: Bool = ready(containerdTools, "containerd")
    static let podmanReady: Bool = ready(podmanTools, "podman")

    private static func ready(_ tools: [String], _ what: String) -> Bool {
        _ = installLog
        let missing = tools.filter { DropIn.which($0) == nil }
        guard missing.isEmpty, geteuid() == 0 else {
            var why = missing.isEmpty ? "the \(what) drop-in tests need root" : "missing \(missing.joined(separator: ", "))"
            if let log = installLog { why += " (\(log))" }
            FileHandle.standardError.write(Data("DropInTests: skipping the \(what) scenarios: \(why)\n".utf8))
            return false
        }
        return true
    }
}

struct DropInFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

// MARK: - Running commands with a deadline

struct Output: CustomStringConvertible, Sendable {
    /// Exit code, or 128+signal when killed by a signal.
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
    var argv: [String]

    var description: String {
        "`\(argv.joined(separator: " "))` exited \(status)\(timedOut ? " (TIMED OUT, killed)" : "")\n--- stdout ---\n\(stdout.suffix(4000))\n--- stderr ---\n\(stderr.suffix(6000))"
    }
}

/// A process spawned in its own process group, stdout/stderr to files.
final class Child: @unchecked Sendable {
    let pid: pid_t
    let argv: [String]
    let outPath: String
    let errPath: String
    private let ownsFiles: Bool

    /// stdoutPath/stderrPath: where output goes (default: fresh temporary files).
    init(_ argv: [String], stdin: String = "/dev/null", stdoutPath: String? = nil, stderrPath: String? = nil,
         environment: [String: String]? = nil) throws {
        self.argv = argv
        if let stdoutPath, let stderrPath {
            outPath = stdoutPath
            errPath = stderrPath
            ownsFiles = false
        } else {
            var template = Array("/tmp/berth-dropin-io-XXXXXX".utf8CString)
            guard let d = mkdtemp(&template) else { throw DropInFailure("mkdtemp: \(errno)") }
            let dir = String(cString: d)
            outPath = dir + "/stdout"
            errPath = dir + "/stderr"
            ownsFiles = true
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        _ = SpawnExtras.addclosefrom?(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        var env = environment ?? ProcessInfo.processInfo.environment
        if env["PATH"] == nil { env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, argv[0], &actions, &attr, &cArgs, &cEnv)
        if rc != 0 { throw DropInFailure("cannot spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Waits until the process exits or the deadline passes; then its whole tree is killed.
    func wait(timeout: Double) -> Output {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                timedOut = true
                Processes.killTree(pid)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = Output(status: code, stdout: readText(outPath), stderr: readText(errPath), timedOut: timedOut, argv: argv)
        if ownsFiles {
            unlink(outPath)
            unlink(errPath)
            rmdir((outPath as NSString).deletingLastPathComponent)
        }
        return out
    }
}

/// Runs ARGV to completion (at most TIMEOUT seconds).
func run(_ argv: [String], timeout: Double = 60, stdin: String = "/dev/null",
         environment: [String: String]? = nil) -> Output {
    do {
        return try Child(argv, stdin: stdin, environment: environment).wait(timeout: timeout)
    } catch {
        return Output(status: 127, stdout: "", stderr: "\(error)", timedOut: false, argv: argv)
    }
}

/// Runs a shell command line under script(1), which gives it a pseudo-terminal
/// (for `-t`); stdin is /dev/null. script -e returns the command's exit status.
func runWithTerminal(_ argv: [String], timeout: Double = 60) -> Output {
    let line = argv.map(shellQuote).joined(separator: " ")
    var r = run(["script", "-qec", line, "/dev/null"], timeout: timeout)
    r.stdout = r.stdout.replacingOccurrences(of: "\0", with: "").replacingOccurrences(of: "\r", with: "")
    r.argv = argv
    return r
}

func shellQuote(_ s: String) -> String {
    if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "/-_.:=@,+".contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

func readText(_ path: String) -> String {
    guard let d = FileManager.default.contents(atPath: path) else { return "" }
    return String(decoding: d, as: UTF8.self)
}

/// Polls CONDITION every 100 ms until it holds or TIMEOUT seconds pass.
@discardableResult
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if condition() { return true }
        if Date() > deadline { return false }
        usleep(100_000)
    }
}

private enum SpawnExtras {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    static let addclosefrom: AddCloseFrom? = {
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: AddCloseFrom.self)
    }()
}

// MARK: - Cleaning up processes, mounts, cgroups and directories

enum Processes {
    /// (pid, ppid) of every process.
    static func table() -> [(pid: pid_t, ppid: pid_t)] {
        var rows: [(pid_t, pid_t)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name) else { continue }
            let stat = readText("/proc/\(name)/stat")
            // pid (comm) state ppid ...: comm may hold spaces and parentheses.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = pid_t(fields[1]) { rows.append((pid, ppid)) }
        }
        return rows
    }

    /// PID and all its descendants.
    static func tree(_ root: pid_t) -> [pid_t] {
        let rows = table()
        var result = [root]
        var i = 0
        while i < result.count {
            let parent = result[i]
            for row in rows where row.ppid == parent && !result.contains(row.pid) { result.append(row.pid) }
            i += 1
        }
        return result
    }

    /// SIGKILLs PID's process group and every descendant of PID (script(1) puts its
    /// child in a session of its own, so the group alone is not enough).
    static func killTree(_ pid: pid_t) {
        let all = tree(pid)
        kill(-pid, SIGKILL)
        for p in all { kill(p, SIGKILL) }
    }
}

enum Cleanup {
    /// Mount points at or under DIR, deepest first.
    static func mounts(under dir: String) -> [String] {
        var points: [String] = []
        for line in readText("/proc/self/mountinfo").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let point = unescape(String(fields[4]))
            if point == dir || point.hasPrefix(dir + "/") { points.append(point) }
        }
        return points.sorted { $0.count > $1.count }
    }

    /// Unmounts (lazily) everything at or under DIR; several passes for stacked mounts.
    static func unmountAll(under dir: String) {
        for _ in 0..<5 {
            let points = mounts(under: dir)
            if points.isEmpty { return }
            for p in points { umount2(p, Int32(MNT_DETACH)) }
        }
    }

    /// Unmounts and removes DIR; returns what could not be cleaned (empty when all went).
    @discardableResult
    static func removeTree(_ dir: String) -> String {
        guard dir.hasPrefix("/") && dir.count > 5 else { return "refusing to remove \(dir)" }
        unmountAll(under: dir)
        if (try? FileManager.default.removeItem(atPath: dir)) != nil { return "" }
        let r = run(["rm", "-rf", "--one-file-system", dir], timeout: 60)
        return r.status == 0 ? "" : "could not remove \(dir): \(r.stderr)"
    }

    /// SIGKILLs (when KILLING) what is left in the cgroup GROUP (a path relative to each v1 hierarchy and
    /// the unified one, e.g. "berthtest/c1") and removes it.
    static func removeCgroup(_ group: String, killing: Bool = true) {
        let base = "/sys/fs/cgroup"
        var dirs = [base + "/" + group]
        for h in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] { dirs.append("\(base)/\(h)/\(group)") }
        for dir in dirs where killing && access(dir, F_OK) == 0 {
            for pid in readText(dir + "/cgroup.procs").split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
        }
        for dir in dirs where access(dir, F_OK) == 0 {
            for _ in 0..<(killing ? 20 : 1) {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                usleep(50_000)
            }
        }
    }

    private static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
