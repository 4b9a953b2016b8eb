import CBerth
import Glibc
import RPC

/// Runs a program of the host to its end (berth-shim start/delete, ps) and
/// collects its output. berthd is multi-threaded, so it never forks from
/// Swift: cb_spawn forks and execs with only async-signal-safe calls in the
/// child, and the caller reaps that one pid.
enum HostCommand {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// stderr's last non-empty line: what a failing program said.
        var message: String {
            stderr.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
        }
    }

    /// `input` goes to the program's stdin (written whole before it starts, so
    /// it must fit a pipe's buffer, 64 KiB: CNI configurations do); else /dev/null.
    static func run(_ path: String, _ args: [String], environment: [String]? = nil, input: [UInt8]? = nil) throws -> Result {
        try start(path, args, environment: environment, input: input).finish()
    }

    /// A program started by `start`, running while the caller does something
    /// else; `finish` collects it. Every `Running` must be finished (it holds
    /// the pipes and the pid to reap).
    struct Running {
        let pid: pid_t
        let stdout: Int32
        let stderr: Int32

        /// Reads its stdout and stderr to their end and reaps it.
        func finish() -> Result {
            // Both pipes are drained together so that neither can fill and stall the child.
            var out: [UInt8] = [], err: [UInt8] = []
            var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
            var open = 2
            var buf = [UInt8](repeating: 0, count: 16384)
            while open > 0 {
                if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; break }
                for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                    let n = buf.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        if i == 0 { out += buf[0..<n] } else { err += buf[0..<n] }
                    } else if n == 0 || errno != EINTR {
                        close(fds[i].fd)
                        fds[i].fd = -1
                        open -= 1
                    }
                }
            }
            for f in fds where f.fd >= 0 { close(f.fd) }
            var status: Int32 = 0
            _ = cb_wait_status(pid, 0, &status)
            return Result(status: status, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
        }
    }

    /// Starts the program and returns at once; see `run`.
    static func start(_ path: String, _ args: [String], environment: [String]? = nil, input: [UInt8]? = nil) throws -> Running {
        var inFD: Int32 = -1
        if let input {
            var p: [Int32] = [0, 0]
            guard input.count <= 65536, pipe(&p) == 0 else { throw BerthError.internal("pipe for the input of \(path)") }
            _ = fcntl(p[0], F_SETFD, FD_CLOEXEC); _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
            let n = input.withUnsafeBytes { write(p[1], $0.baseAddress, $0.count) }
            close(p[1])
            guard n == input.count else { close(p[0]); throw BerthError.internal("cannot write the input of \(path)") }
            inFD = p[0]
        }
        defer { if inFD >= 0 { close(inFD) } }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw BerthError.internal("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw BerthError.internal("pipe: \(String(cString: strerror(errno)))")
        }
        // cb_spawn's child closes every other fd; these must not reach other spawns either.
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let env = environment ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let pid = withCStrings([path] + args) { argv in
            withCStrings(env) { envp in cb_spawn(path, argv, envp, inFD, outPipe[1], errPipe[1]) }
        }
        close(outPipe[1]); close(errPipe[1])
        guard pid > 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw BerthError.internal("cannot start \(path): \(String(cString: strerror(errno)))")
        }
        return Running(pid: pid, stdout: outPipe[0], stderr: errPipe[0])
    }

    /// A program beside berthd's own executable, else on PATH (as the shim finds the runtime).
    static func locate(_ name: String) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, Int(PATH_MAX))
        if n > 0 {
            let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") {
                let candidate = String(exe[..<slash]) + "/" + name
                if access(candidate, X_OK) == 0 { return candidate }
            }
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where access(dir + "/" + name, X_OK) == 0 {
            return dir + "/" + name
        }
        return name
    }
}

/// argv/envp as C strings for the duration of `body`.
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
    let ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}
