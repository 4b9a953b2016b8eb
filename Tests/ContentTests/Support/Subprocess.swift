#if canImport(Glibc)
import Glibc
#endif

/// Runs helper programs for the tests (registry, skopeo, tar, openssl, python) with
/// posix_spawn: no Foundation in these modules.
enum Subprocess {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs to completion; stdout and stderr together in `output`.
    @discardableResult
    static func run(_ args: [String], input: String? = nil) -> Result {
        let out = "/tmp/berth-sp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(out) }
        let pid = spawn(args, log: out)
        guard pid > 0 else { return Result(status: 127, output: "cannot spawn \(args[0])") }
        let status = wait(pid)
        let text = (try? readAll(out)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Result(status: status, output: text)
    }

    /// Starts a process with stdout and stderr appended to `log`; returns its pid (0 on failure).
    static func spawn(_ args: [String], log: String) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Put the child in its own process group, so a test can kill it with whatever it spawned.
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attr, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, args[0], &actions, &attr, &argv, environ)
        return rc == 0 ? pid : 0
    }

    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    static func which(_ tool: String) -> Bool {
        for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] where access(dir + "/" + tool, X_OK) == 0 {
            return true
        }
        return run(["sh", "-c", "command -v \(tool)"]).status == 0
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            out += buf[0..<n]
        }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            guard n > 0 else { throw TestFailure("write \(path): errno \(errno)") }
            done += n
        }
    }

    static func writeFile(_ path: String, _ text: String) throws { try writeFile(path, Array(text.utf8)) }

    /// A fresh directory under /tmp, removed when the test process exits
    /// (TempDirs; BERTH_KEEP_TMP=1 keeps them to look at after a failure).
    static func tempDir(_ label: String) -> String {
        var template = Array("/tmp/berth-\(label)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let p else { return "/tmp/berth-\(label)-\(getpid())" }
        let path = String(cString: p)
        TempDirs.made(path)
        return path
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Waits until something accepts connections on 127.0.0.1:port.
    static func waitForPort(_ port: Int, seconds: Double = 15) -> Bool {
        let deadline = Double(time(nil)) + seconds
        while Double(time(nil)) <= deadline {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            close(s)
            if ok { return true }
            usleep(50_000)
        }
        return false
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The directories `Subprocess.tempDir` made in this process, removed at its
/// exit: the suites make hundreds per run. A directory with anything mounted
/// at or below it is left alone (removing through a bind mount would delete
/// what it shows), as is everything when BERTH_KEEP_TMP is set.
enum TempDirs {
    nonisolated(unsafe) private static var paths: [String] = []
    nonisolated(unsafe) private static var lock = pthread_mutex_t()
    private static let registerOnce: Void = { atexit { TempDirs.removeAll() } }()

    static func made(_ path: String) {
        _ = registerOnce
        pthread_mutex_lock(&lock)
        paths.append(path)
        pthread_mutex_unlock(&lock)
    }

    static func removeAll() {
        guard getenv("BERTH_KEEP_TMP") == nil else { return }
        pthread_mutex_lock(&lock)
        let all = paths
        paths = []
        pthread_mutex_unlock(&lock)
        let mountinfo = (try? Subprocess.readAll("/proc/self/mountinfo")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let mountPoints = mountinfo.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            return f.count > 4 ? String(f[4]) : nil
        }
        let removable = all.filter { dir in !mountPoints.contains { $0 == dir || $0.hasPrefix(dir + "/") } }
        guard !removable.isEmpty else { return }
        // mkdtemp's names: letters, digits and '-' only, so no quoting is needed.
        _ = system("rm -rf --one-file-system -- " + removable.joined(separator: " "))
    }
}
