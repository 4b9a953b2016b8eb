// Shared helpers for the runtime CLI tests (SpecFixtureTests, LifecycleTests, …)
// and, through a symlink in Tests/ShimTests, for the shim tests.
//
// These tests drive a runc-compatible runtime binary from the outside, exactly as a
// user or a higher-level engine would. They depend on nothing in the Berth package:
// only Foundation (JSON, files), Glibc (process spawning, sockets) and Swift Testing.
//
// Which runtime: $BERTH_RUNTIME (absolute path), else <package root>/.build/debug/berth-runtime.
// Validate the suites against the reference with BERTH_RUNTIME=/usr/sbin/runc.

import Foundation
import Glibc
import Testing

// MARK: - Locating the runtime and the package

enum TestEnv {
    /// <package root>, derived from this file's path: <root>/Tests/RuntimeTests/TestSupport.swift.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var fixturesDir: String { packageRoot + "/spec-fixtures" }

    /// Absolute path of the runtime under test.
    static let runtimePath: String = {
        if let env = ProcessInfo.processInfo.environment["BERTH_RUNTIME"], !env.isEmpty {
            return env
        }
        return packageRoot + "/.build/debug/berth-runtime"
    }()

    /// True when the runtime under test is runc itself (the reference). Fixtures marked
    /// "runcKnownFailure" are then expected to fail (recorded as known issues).
    static let isRunc: Bool = {
        (runtimePath as NSString).lastPathComponent == "runc"
    }()

    /// Fails the current test (by throwing) when the runtime binary is missing. Never skips:
    /// a missing binary must be visible as a failure.
    static func requireRuntime() throws {
        if let problem = runtimeProblem { throw TestFailure(problem) }
        if geteuid() != 0 {
            throw TestFailure("the runtime tests need root (they create namespaces, mounts and cgroups); euid is \(geteuid())")
        }
    }

    private static let runtimeProblem: String? = {
        let path = runtimePath
        guard path.hasPrefix("/") else {
            return "BERTH_RUNTIME must be an absolute path, got \"\(path)\""
        }
        if access(path, X_OK) != 0 {
            let how = ProcessInfo.processInfo.environment["BERTH_RUNTIME"] == nil
                ? "build it first (swift build --product berth-runtime) or set BERTH_RUNTIME=/absolute/path/to/runtime (e.g. BERTH_RUNTIME=/usr/sbin/runc)"
                : "BERTH_RUNTIME points at a file that does not exist or is not executable"
            return "runtime binary not found at \(path): \(how)"
        }
        return nil
    }()

    /// Base directory for everything the tests create (bundles, state roots, scratch).
    /// World-traversable (0755) so user-namespace fixtures can reach their rootfs.
    static let scratchBase: String = {
        let base = ProcessInfo.processInfo.environment["BERTH_TEST_TMPDIR"] ?? "/tmp/berth-tests"
        mkdir(base, 0o755)
        chmod(base, 0o755)
        return base
    }()
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

// MARK: - Running commands

struct CommandResult: CustomStringConvertible {
    /// Exit code, or 128+signal when killed by a signal (shell convention).
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
    var argv: [String]

    var description: String {
        "`\(argv.joined(separator: " "))` exited \(status)\(timedOut ? " (TIMED OUT, killed)" : "")\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
    }
}

/// A child process spawned with posix_spawn. Its stdout/stderr go to files (never pipes),
/// so a detached container that inherits them can never make the test hang on EOF.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    let argv: [String]
    private let outPath: String
    private let errPath: String
    private let ioDir: String
    private(set) var finished: CommandResult?

    init(_ argv: [String], stdinPath: String = "/dev/null", cwd: String? = nil,
         environment: [String: String]? = nil) throws {
        self.argv = argv
        var template = Array((TestEnv.scratchBase + "/io-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: \(errno)") }
        ioDir = String(cString: dir)
        outPath = ioDir + "/stdout"
        errPath = ioDir + "/stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of this (multi-threaded) test process leaks into the child.
        _ = SpawnExtras.addclosefrom?(&actions, 3)
        if let cwd {
            guard let addchdir = SpawnExtras.addchdir else { throw TestFailure("posix_spawn_file_actions_addchdir_np unavailable") }
            _ = addchdir(&actions, cwd)
        }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Default signal dispositions and an empty mask in the child.
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let envStrings: [String]
        if let environment {
            envStrings = environment.map { "\($0.key)=\($0.value)" }
        } else {
            envStrings = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, argv[0], &actions, &attr, &cArgs, &cEnv)
        if rc != 0 {
            throw TestFailure("cannot spawn \(argv[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    /// Waits for the process (polling, so a hung runtime is killed at the deadline
    /// instead of hanging the whole test run). The deadline is a safety net, not an assertion.
    @discardableResult
    func wait(timeout: Double = 60) -> CommandResult {
        if let finished { return finished }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let result = CommandResult(status: code,
                                   stdout: readFile(outPath) ?? "",
                                   stderr: readFile(errPath) ?? "",
                                   timedOut: timedOut, argv: argv)
        unlink(outPath)
        unlink(errPath)
        rmdir(ioDir)
        finished = result
        return result
    }
}

/// glibc extensions that the Swift Glibc module does not import (they need _GNU_SOURCE).
private enum SpawnExtras {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    static let addclosefrom: AddCloseFrom? = {
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: AddCloseFrom.self)
    }()
    static let addchdir: AddChdir? = {
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(sym, to: AddChdir.self)
    }()
}

@discardableResult
func runCommand(_ argv: [String], stdinPath: String = "/dev/null", cwd: String? = nil,
                environment: [String: String]? = nil, timeout: Double = 60) -> CommandResult {
    do {
        return try Spawned(argv, stdinPath: stdinPath, cwd: cwd, environment: environment).wait(timeout: timeout)
    } catch {
        return CommandResult(status: 127, stdout: "", stderr: "\(error)", timedOut: false, argv: argv)
    }
}

/// `/bin/sh -c SCRIPT` on the host.
@discardableResult
func sh(_ script: String, timeout: Double = 60) -> CommandResult {
    runCommand(["/bin/sh", "-c", script], timeout: timeout)
}

// MARK: - Files

func readFile(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return String(decoding: data, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Creates a fresh 0755 scratch directory under the test base.
func makeScratchDir(_ prefix: String) throws -> String {
    let safe = String(prefix.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(40))
    var template = Array((TestEnv.scratchBase + "/\(safe)-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: errno \(errno)") }
    let path = String(cString: p)
    chmod(path, 0o755)
    return path
}

/// Mount points at or below `dir` in this (the host) mount namespace, deepest first.
func mountsUnder(_ dir: String) -> [String] {
    guard let info = readFile("/proc/self/mountinfo") else { return [] }
    var result: [String] = []
    for line in info.split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { continue }
        let mp = unescapeMountPath(String(fields[4]))
        if mp == dir || mp.hasPrefix(dir + "/") { result.append(mp) }
    }
    return result.sorted { $0.count > $1.count }
}

private func unescapeMountPath(_ s: String) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo (octal).
    guard s.contains("\\") else { return s }
    let b = Array(s.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
           let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
            out.append(v)
            i += 4
        } else {
            out.append(b[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Unmounts everything below `dir` (lazily), then deletes it without crossing into
/// other file systems. Returns the mount points that were still present.
@discardableResult
func removeTree(_ dir: String) -> [String] {
    let leftovers = mountsUnder(dir)
    for mp in leftovers { umount2(mp, Int32(MNT_DETACH)) }
    if mountsUnder(dir).isEmpty {
        runCommand(["/bin/rm", "-rf", "--one-file-system", dir], timeout: 120)
    }
    return leftovers
}

// MARK: - Leftover detection

enum Leftovers {
    /// Mount points of every cgroup (v1 and v2) hierarchy on the host.
    static let cgroupMounts: [String] = {
        guard let info = readFile("/proc/self/mountinfo") else { return [] }
        var result: [String] = []
        for line in info.split(separator: "\n") {
            let parts = line.components(separatedBy: " - ")
            guard parts.count == 2 else { continue }
            let fstype = parts[1].split(separator: " ").first.map(String.init) ?? ""
            let fields = parts[0].split(separator: " ")
            if (fstype == "cgroup" || fstype == "cgroup2") && fields.count > 4 {
                result.append(String(fields[4]))
            }
        }
        return result
    }()

    /// This process's own cgroup paths (a runtime may nest the container under them).
    static let ownCgroupPaths: [String] = {
        guard let text = readFile("/proc/self/cgroup") else { return [] }
        var paths = Set<String>()
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if f.count == 3, f[2] != "/" { paths.insert(String(f[2])) }
        }
        return Array(paths)
    }()

    /// Cgroup directories whose name contains the container id and that still exist, at the
    /// top of each hierarchy or below this process's own cgroup (where a relative
    /// cgroupsPath, or runc's default, puts them).
    static func cgroupDirs(for id: String) -> [String] {
        var found: [String] = []
        for m in cgroupMounts {
            var parents = Set([m])
            for own in ownCgroupPaths { parents.insert(m + own) }
            for parent in parents {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
                for e in entries where e.contains(id) && isDirectory(parent + "/" + e) {
                    found.append(parent + "/" + e)
                }
            }
        }
        return found
    }

    /// Everything a runtime must not leave behind once a container is gone:
    /// its state directory `<root>/<id>` and cgroup directories named after the id.
    /// (Ids are unique per test, so a name containing the id cannot be another test's.)
    static func check(root: String, id: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!fileExists(root + "/" + id),
                "state directory \(root)/\(id) was left behind", sourceLocation: sourceLocation)
        let cg = cgroupDirs(for: id)
        #expect(cg.isEmpty, "cgroup directories left behind: \(cg)", sourceLocation: sourceLocation)
    }
}

// MARK: - Rootfs

enum Rootfs {
    /// A busybox rootfs built once per machine by scripts/make-rootfs.sh and cached
    /// under the scratch base; bundles get their own copy (`cp -a`).
    static let shared: Result<String, TestFailure> = {
        let script = TestEnv.packageRoot + "/scripts/make-rootfs.sh"
        let dest = TestEnv.scratchBase + "/rootfs-busybox"
        if fileExists(dest + "/.berth-rootfs") && fileExists(dest + "/bin/busybox") {
            return .success(dest)
        }
        let tmp = dest + ".tmp-\(getpid())"
        let r = runCommand(["/bin/sh", script, tmp], timeout: 300)
        guard r.status == 0 else {
            return .failure(TestFailure("scripts/make-rootfs.sh failed:\n\(r)"))
        }
        if rename(tmp, dest) != 0 {
            // Another test process won the race: use its copy.
            removeTree(tmp)
        }
        guard fileExists(dest + "/.berth-rootfs") else {
            return .failure(TestFailure("rootfs missing at \(dest) after make-rootfs.sh"))
        }
        return .success(dest)
    }()

    static func copy(to path: String) throws {
        let src = try shared.get()
        let r = runCommand(["/bin/cp", "-a", src, path], timeout: 120)
        guard r.status == 0 else { throw TestFailure("copying rootfs failed:\n\(r)") }
    }
}

// MARK: - JSON

func parseJSON(_ text: String) -> Any? {
    guard let data = text.data(using: .utf8) else { return nil }
    return try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
}

func jsonString(_ value: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}

/// RFC 7386 JSON merge patch.
func mergePatch(_ target: Any?, _ patch: Any) -> Any {
    guard let patchObj = patch as? [String: Any] else { return patch }
    var result = (target as? [String: Any]) ?? [:]
    for (key, value) in patchObj {
        if value is NSNull {
            result.removeValue(forKey: key)
        } else {
            result[key] = mergePatch(result[key], value)
        }
    }
    return result
}

/// A JSON number as Double, whatever box JSONSerialization used for it.
func jsonNumber(_ v: Any?) -> Double? {
    switch v {
    case let i as Int: return Double(i)
    case let d as Double: return d
    case let n as NSNumber: return n.doubleValue
    default: return nil
    }
}

func canonicalJSON(_ v: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys]) else { return "\(v)" }
    return String(decoding: data, as: UTF8.self)
}

/// Subset match: every key of `expected` must be present in `actual` with a matching value
/// (objects recursively; arrays and scalars must be equal). Returns mismatch descriptions.
func jsonSubsetMismatches(expected: Any, actual: Any?, path: String = "$") -> [String] {
    if let e = expected as? [String: Any] {
        guard let a = actual as? [String: Any] else { return ["\(path): expected an object, got \(String(describing: actual))"] }
        var out: [String] = []
        for (k, v) in e { out += jsonSubsetMismatches(expected: v, actual: a[k], path: path + "." + k) }
        return out
    }
    guard let actual else { return ["\(path): missing"] }
    if canonicalJSON(expected) == canonicalJSON(actual) { return [] }
    return ["\(path): expected \(expected), got \(actual)"]
}

// MARK: - Runtime invocation helpers

/// A container id unique within this test process (and distinguishable across processes).
func uniqueID(_ hint: String) -> String {
    let n = IDCounter.next()
    let safe = String(hint.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(32))
    return "bt-\(safe)-\(getpid())-\(n)"
}

private enum IDCounter {
    nonisolated(unsafe) static var value = 0
    static let lock = NSLock()
    static func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value
    }
}

/// Runs `<runtime> <args...>`.
@discardableResult
func rt(_ args: [String], stdinPath: String = "/dev/null", cwd: String? = nil, timeout: Double = 60) -> CommandResult {
    runCommand([TestEnv.runtimePath] + args, stdinPath: stdinPath, cwd: cwd, timeout: timeout)
}

/// Non-empty lines of a runtime's stderr, ignoring runc-style warning lines.
func errorLines(_ stderr: String) -> [String] {
    stderr.split(separator: "\n").map(String.init).filter {
        !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.contains("level=warning")
    }
}
