import CBerth
import Glibc
import OCI

/// Runs OCI hooks: `path` executed with `args` and `env` (nothing inherited),
/// the container state JSON on stdin, killed after `timeout` seconds.
enum HookRunner {
    enum Kind: String {
        case prestart, createRuntime, createContainer, startContainer, poststart, poststop
        var inRuntimeNamespace: Bool { self != .createContainer && self != .startContainer }
    }

    static func run(_ kind: Kind, _ hooks: [Hook]?, state: JSONValue) throws(RuntimeError) {
        for (n, hook) in (hooks ?? []).enumerated() {
            do { try runOne(hook, stdin: JSONWriter.write(state), inRuntimeNamespace: kind.inRuntimeNamespace) } catch {
                throw RuntimeError("error running hook #\(n) (\(kind.rawValue), \(hook.path)): \(error.message)")
            }
        }
    }

    /// poststop: a failure is a warning and the remaining hooks still run (runtime.md lifecycle step 13).
    static func runAll(_ kind: Kind, _ hooks: [Hook]?, state: JSONValue, log: RuntimeLog) {
        for (n, hook) in (hooks ?? []).enumerated() {
            do { try runOne(hook, stdin: JSONWriter.write(state), inRuntimeNamespace: kind.inRuntimeNamespace) } catch {
                log.warning("error running hook #\(n) (\(kind.rawValue), \(hook.path)): \(error.message)")
            }
        }
    }

    /// prestart, createRuntime, poststart and poststop run in the runtime
    /// namespace; createContainer and startContainer in the container's.
    static func runOne(_ hook: Hook, stdin input: String, inRuntimeNamespace: Bool) throws(RuntimeError) {
        if let t = hook.timeout, t <= 0 { throw RuntimeError("timeout must be greater than zero, got \(t)") }
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        try check("pipe") { cb_pipe2(&inPipe, O_CLOEXEC) }
        try check("pipe") { cb_pipe2(&outPipe, O_CLOEXEC) }
        var pidfd: Int32 = -1
        let pid = cb_clone(0, -1, &pidfd, nil)
        if pid < 0 { throw RuntimeError.sys("fork hook \(hook.path)") }
        if pid == 0 {
            dup2(inPipe[0], 0)
            dup2(outPipe[1], 1)
            dup2(outPipe[1], 2)
            cb_reset_signal_handlers()
            _ = cb_sigmask_unblock_all()
            // Runtime-namespace hooks see the caller's mounts, not our sealed copy.
            if inRuntimeNamespace { try? ExecutableSeal.enterCallerMountNamespace() }
            let argv = hook.args ?? [hook.path]
            let env = hook.env ?? []
            Exec.execve(hook.path, argv, env)
            let msg = "exec \(hook.path): \(errnoText(errno))\n"
            _ = write(2, msg, msg.utf8.count)
            cb_exit(127)
        }
        close(inPipe[0]); close(outPipe[1])
        // The state is small (well under a pipe buffer); a hook that does not read it must not block us.
        _ = cb_fcntl_setfl(inPipe[1], O_NONBLOCK)
        // A hook may exit (or fail to exec) before reading it: EPIPE, not SIGPIPE.
        _ = input.withCString { cb_write_nosigpipe(inPipe[1], $0, strlen($0)) }
        close(inPipe[1])
        let deadline = hook.timeout.map { Clock.monotonicMillis() + Int64($0) * 1000 }
        var output: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        var outOpen = true
        var timedOut = false
        while outOpen {
            let wait = deadline.map { Int32(max(0, $0 - Clock.monotonicMillis())) } ?? -1
            let ready = cb_poll2(outPipe[0], -1, wait)
            if ready == 0 { timedOut = true; break }
            let n = buf.withUnsafeMutableBytes { read(outPipe[0], $0.baseAddress, $0.count) }
            if n <= 0 { outOpen = false } else if output.count < 4096 { output += buf[0..<n] }
        }
        close(outPipe[0])
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if pidfd >= 0 { close(pidfd) }
        let out = String(decoding: output, as: UTF8.self).split(separator: "\n").joined(separator: "; ")
        if timedOut { throw RuntimeError("hook ran past specified timeout of \(hook.timeout!)s") }
        let code = Exec.exitCode(status)
        if code != 0 { throw RuntimeError("exit status \(code)" + (out.isEmpty ? "" : ", output: \(out)")) }
    }
}

/// execve and wait-status helpers shared by hooks, the container init and exec.
enum Exec {
    /// execve with Swift strings; returns only on failure (errno set). With
    /// `fd`, that file is executed (execveat AT_EMPTY_PATH) and `path` is unused.
    static func execve(_ path: String, _ argv: [String], _ env: [String], fd: Int32? = nil) {
        // Plain buffers rather than [UnsafeMutablePointer<CChar>?]: that array
        // type is not one the standard library has ready, so its first use
        // makes the Swift runtime demangle and build its metadata (tens of
        // microseconds), and this runs on every container start.
        func cStrings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
            let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
            for i in 0..<strings.count { p[i] = strdup(strings[i]) }
            p[strings.count] = nil
            return p
        }
        let cargv = cStrings(argv), cenv = cStrings(env)
        if let fd { _ = cb_execveat_empty(fd, cargv, cenv) } else { _ = Glibc.execve(path, cargv, cenv) }
        let saved = errno
        for i in 0..<argv.count { free(cargv[i]) }
        for i in 0..<env.count { free(cenv[i]) }
        cargv.deallocate()
        cenv.deallocate()
        errno = saved
    }

    /// The shell convention: the exit code, or 128 + the signal that killed it.
    static func exitCode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        if sig == 0 { return (status >> 8) & 0xff }
        return 128 + sig
    }

    /// $PATH lookup as execvp does it, evaluated inside the container's root.
    static func lookPath(_ file: String, env: [String]) throws(RuntimeError) -> String {
        if file.includes("/") {
            var st = stat()
            if stat(file, &st) != 0 { throw RuntimeError("exec: \(file.debugDescription): stat \(file): \(errnoText(errno).lowercased())") }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw RuntimeError("exec: \(file.debugDescription): is a directory") }
            if access(file, X_OK) != 0 { throw RuntimeError("exec: \(file.debugDescription): permission denied") }
            return file
        }
        let pathVar = env.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in pathVar.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + file
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR, st.st_mode & 0o111 != 0 { return candidate }
        }
        throw RuntimeError("exec: \(file.debugDescription): executable file not found in $PATH")
    }
}
