import CBerth
import Glibc
import OCI
import RPC

/// berth-shim's command line: `start` and `delete` (docs/shim-protocol.md).
public enum ShimCommand {
    static let usage = """
    usage: berth-shim start  --id ID --bundle DIR [--runtime PATH] [--runtime-root DIR] [--socket PATH] [--events ADDRESS]
                             [--private-mounts]
           berth-shim delete --id ID --bundle DIR [--runtime PATH] [--runtime-root DIR]
    """

    struct Options {
        var command = ""
        var id = ""
        var bundle = ""
        var runtime: String?
        var runtimeRoot: String?
        var socket: String?
        var events: String?
        /// The shim (and so the runtime and the container) gets a mount namespace
        /// of its own, where the manager mounts the rootfs (docs/shim.md).
        var privateMounts = false
    }

    static func parse(_ args: [String]) throws(RPCError) -> Options {
        var o = Options()
        var i = 0
        func value(_ name: String) throws(RPCError) -> String {
            i += 1
            guard i < args.count else { throw RPCError(RPCError.invalidParams, "\(name) needs a value") }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            var name = a
            var inline: String?
            if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") { name = String(a[..<eq]); inline = String(a[a.index(after: eq)...]) }
            func v() throws(RPCError) -> String { if let inline { return inline }; return try value(name) }
            switch name {
            case "--id": o.id = try v()
            case "--bundle": o.bundle = try v()
            case "--runtime": o.runtime = try v()
            case "--runtime-root": o.runtimeRoot = try v()
            case "--socket": o.socket = try v()
            case "--events": o.events = try v()
            case "--private-mounts":
                if inline != nil { throw RPCError(RPCError.invalidParams, "--private-mounts takes no value") }
                o.privateMounts = true
            case "-h", "--help": o.command = "help"
            default:
                if a.hasPrefix("-") || !o.command.isEmpty { throw RPCError(RPCError.invalidParams, "unknown argument \(a)") }
                o.command = a
            }
            i += 1
        }
        return o
    }

    public static func main(_ args: [String]) -> Int32 {
        do throws(RPCError) {
            let o = try parse(args)
            if o.command == "help" || o.command.isEmpty { print(usage); return o.command.isEmpty ? 2 : 0 }
            guard !o.id.isEmpty, !o.bundle.isEmpty else { throw RPCError(RPCError.invalidParams, "--id and --bundle are required") }
            guard o.id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.+".contains($0) }), !o.id.hasPrefix(".") else {
                throw RPCError(RPCError.invalidParams, "invalid id \(o.id)")
            }
            switch o.command {
            case "start": return try start(o)
            case "delete": return try delete(o)
            default: throw RPCError(RPCError.invalidParams, "unknown command \(o.command) (start or delete; --help for usage)")
            }
        } catch {
            cb_write_stderr("berth-shim: \(error.message)\n")
            return 1
        }
    }

    static func defaultRuntime() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") {
                let sibling = String(exe[..<slash]) + "/berth-runtime"
                if access(sibling, X_OK) == 0 { return sibling }
            }
        }
        let path = String(cString: getenv("PATH") ?? strdup("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
        for dir in path.split(separator: ":") where access("\(dir)/berth-runtime", X_OK) == 0 { return "\(dir)/berth-runtime" }
        return "/usr/local/bin/berth-runtime"
    }

    /// A live process that is a berth-shim (a recorded pid may have been reused).
    static func isShim(_ pid: Int) -> Bool {
        guard Sys.processAlive(Int32(pid)), let comm = Sys.readText("/proc/\(pid)/comm") else { return false }
        return comm.hasPrefix("berth-shim")
    }

    static func canConnect(_ address: String) -> Bool { (try? ShimClient(address: address)) != nil }

    static func printLine(_ v: JSONValue) { _ = Sys.writeAll(1, Array((JSONWriter.write(v) + "\n").utf8)) }

    // MARK: start

    static func start(_ o: Options) throws(RPCError) -> Int32 {
        let bundle = Sys.absolute(o.bundle)
        // config.json is needed only at create: a manager may start the shim
        // while it still writes the bundle, and overlap the two.
        var st = stat()
        guard stat(bundle, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw RPCError(RPCError.invalidParams, "no bundle directory \(bundle)")
        }
        let lock = open(bundle + "/shim.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if lock < 0 { throw Sys.fail("open \(bundle)/shim.lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 { if errno != EINTR { throw Sys.fail("flock") } }

        if let st = ShimState.load(bundle: bundle), st.id != o.id {
            throw RPCError(RPCError.failedPrecondition, "bundle \(bundle) belongs to the shim of \(st.id), not \(o.id)")
        }
        if let st = ShimState.load(bundle: bundle), isShim(st.pid) {
            guard canConnect(st.address) else {
                throw RPCError(RPCError.shimFailed, "shim pid \(st.pid) of \(o.id) is alive but does not answer on \(st.address)")
            }
            printLine(StartOutput(address: st.address, pid: st.pid).json)
            return 0
        }
        if let st = ShimState.load(bundle: bundle), st.status != "none", st.status != "deleted" {
            // A dead shim's record: the container (and its exit status) must not be forgotten.
            throw RPCError(RPCError.failedPrecondition,
                           "the previous shim of \(st.id) (pid \(st.pid)) is gone with its container \(st.status): run berth-shim delete first")
        }
        var socketPath = o.socket.map(Sys.absolute) ?? bundle + "/shim.sock"
        if o.socket == nil, socketPath.utf8.count >= 100 {
            mkdir("/run/berth-shim", 0o711)
            socketPath = "/run/berth-shim/\(o.id).sock"
        }
        let config = ShimConfig(id: o.id, bundle: bundle, runtime: o.runtime.map(Sys.absolute) ?? defaultRuntime(),
                                runtimeRoot: o.runtimeRoot.map(Sys.absolute), socketPath: socketPath,
                                eventsAddress: o.events.flatMap { $0.isEmpty ? nil : $0 },
                                eventQueueCapacity: getenv("BERTH_SHIM_EVENT_QUEUE").flatMap { Int(String(cString: $0)) } ?? 1024,
                                unclaimedSeconds: getenv("BERTH_SHIM_UNCLAIMED_SECONDS").flatMap { Int(String(cString: $0)) } ?? 30)
        let ready = try Sys.pipe()
        let pid = cb_fork()
        if pid < 0 { throw Sys.fail("fork") }
        if pid > 0 {
            close(ready.w)
            var got: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buf.withUnsafeMutableBytes { read(ready.r, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                got.append(contentsOf: buf[0..<n])
            }
            let text = String(decoding: got, as: UTF8.self)
            if text.hasPrefix("ok ") {
                _ = Sys.writeAll(1, Array(text.dropFirst(3).utf8))
                return 0
            }
            var st: Int32 = 0
            _ = cb_wait_status(pid, 0, &st)
            throw RPCError(RPCError.shimFailed, text.hasPrefix("error ") ? String(text.dropFirst(6)) : "the shim exited before it was ready")
        }
        // The shim: a new session, no controlling terminal, no cwd, stdio on /dev/null.
        close(ready.r)
        setsid()
        if o.privateMounts, let err = enterPrivateMountNamespace() {
            _ = Sys.writeAll(ready.w, Array("error \(err)".utf8))
            cb_exit(1)
        }
        chdir("/")
        let null = open("/dev/null", O_RDWR)
        if null >= 0 { dup2(null, 0); dup2(null, 1); dup2(null, 2); if null > 2 { close(null) } }
        Sys.closeFDs(except: [ready.w, lock])
        _ = cb_set_child_subreaper()
        _ = cb_set_name("berth-shim")
        let server: ShimServer
        do throws(RPCError) {
            server = try ShimServer(config: config)
            try server.writeState()
        } catch {
            _ = Sys.writeAll(ready.w, Array("error \(error.message)".utf8))
            cb_exit(1)
        }
        _ = Sys.writeAll(ready.w, Array(("ok " + JSONWriter.write(StartOutput(address: server.address, pid: Int(getpid())).json) + "\n").utf8))
        close(ready.w)
        close(lock)
        server.run()
        cb_exit(0)
    }

    /// A copy of the host's mount namespace that receives the host's later
    /// mounts but sends none back (rslave). The manager mounts the container's
    /// rootfs in it: the host's mount table then stays the same size however
    /// many containers run, and so does the cost of each container's own copy
    /// of it (its clone copies every mount; 7.6 µs per container measured at
    /// 1600 running). Single-threaded here (just forked), as unshare needs.
    static func enterPrivateMountNamespace() -> String? {
        if cb_unshare(0x0002_0000 /* CLONE_NEWNS */) != 0 { return "unshare a mount namespace: \(Sys.errorText())" }
        if mount(nil, "/", nil, UInt(MS_REC | MS_SLAVE), nil) != 0 { return "make its mounts rslave: \(Sys.errorText())" }
        return nil
    }

    // MARK: delete

    static func delete(_ o: Options) throws(RPCError) -> Int32 {
        let bundle = Sys.absolute(o.bundle)
        guard let st = ShimState.load(bundle: bundle) else {
            throw RPCError(RPCError.notFound, "no shim state in \(bundle) (shim.json)")
        }
        guard st.id == o.id else { throw RPCError(RPCError.invalidParams, "\(bundle)/shim.json is for \(st.id), not \(o.id)") }
        if isShim(st.pid) {
            throw RPCError(RPCError.failedPrecondition, "the shim of \(o.id) is still running (pid \(st.pid)): use its delete and shutdown methods")
        }
        let runner = RuntimeRunner(path: o.runtime.map(Sys.absolute) ?? st.runtime,
                                   root: o.runtimeRoot.map(Sys.absolute) ?? st.runtimeRoot, logPath: bundle + "/shim-runtime.log")
        // What the runtime knows before it is told to forget.
        var runtimeStatus: String?
        if let out = try? runner.run(["state", o.id], captureStdout: true), let v = try? JSONParser.parse(out) {
            runtimeStatus = v["status"]?.stringValue
        }
        if runtimeStatus != nil { try runner.run(["delete", "--force", o.id]) }
        // What the bundle has mounted (the rootfs from the manager's snapshot) goes too.
        let stuck = Sys.unmountAll(under: bundle)
        if !stuck.isEmpty { throw RPCError(RPCError.shimFailed, "cannot unmount \(stuck.joined(separator: ", ")): \(Sys.errorText())") }

        let info: ExitInfo
        if let code = st.exitStatus, let at = st.exitedAt {
            info = ExitInfo(id: o.id, pid: st.containerPid ?? 0, exitStatus: code, exitedAt: at)
        } else if st.status == "created" || st.status == "running" || st.status == "paused" {
            if runtimeStatus == nil || runtimeStatus == "stopped" {
                info = ExitInfo(id: o.id, pid: st.containerPid ?? 0, exitStatus: 255, exitedAt: Clock.rfc3339(),
                                reason: "the container exited while its shim (pid \(st.pid)) was gone: exit status unknown")
            } else {
                info = ExitInfo(id: o.id, pid: st.containerPid ?? 0, exitStatus: 137, exitedAt: Clock.rfc3339(),
                                reason: "the shim (pid \(st.pid)) died while the container ran; the container was killed (SIGKILL)")
            }
        } else {
            info = ExitInfo(id: o.id, pid: st.containerPid ?? 0, exitStatus: 255, exitedAt: Clock.rfc3339(),
                            reason: "no container was running in the shim (status \(st.status))")
        }
        printLine(info.json)
        unlink(StartOutput(address: st.address, pid: st.pid).socketPath)
        for f in ["shim.json", "shim.lock", "shim-runtime.log", "shim-init.pid"] { unlink(bundle + "/" + f) }
        return 0
    }
}
