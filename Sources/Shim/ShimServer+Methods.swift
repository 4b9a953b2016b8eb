import CBerth
import CgroupEvents
import Glibc
import OCI
import RPC

extension ShimServer {
    func handle(_ c: Client, _ id: RPCID, _ method: String, _ params: JSONValue?) {
        do throws(RPCError) {
            guard let m = ShimMethod(rawValue: method) else {
                throw RPCError(RPCError.methodNotFound, "method not found: \(method)")
            }
            guard m.implemented else { throw RPCError(RPCError.notImplemented, "\(method) is not implemented by this shim yet") }
            let result: JSONValue
            switch m {
            case .hello: result = try hello(HelloParams.decode(params))
            case .create: result = try create(CreateParams.decode(params)).json
            case .start: result = try start().json
            case .state:
                if let e = try execRef(params) { result = execState(e).json } else { result = try state().json }
            case .exec: result = try exec(ExecParams.decode(params)).json
            case .pids: result = try pids().json
            case .kill: try kill(KillParams.decode(params)); result = Empty().json
            case .wait:
                if let e = try execRef(params) {
                    guard let x = e.exit else { e.waiters.append((c.fd, id)); return }
                    result = x.json
                } else {
                    try requireContainer()
                    guard let exit else { waiters.append((c.fd, id)); return }
                    result = exit.json
                }
            case .delete:
                if let e = try execRef(params) { result = try deleteExec(e).json } else { result = try delete().json }
            case .pause: try pause(); result = Empty().json
            case .closeStdin: try closeStdin(ExecRef.decode(params)); result = Empty().json
            case .attach: result = try attach(c, AttachParams.decode(params))
            case .connect: result = connect(try ConnectParams.decode(params)).json
            case .resizePty: try resizePty(ResizeParams.decode(params)); result = Empty().json
            case .resume: try resume(); result = Empty().json
            case .update: try update(UpdateParams.decode(params)); result = Empty().json
            case .stats: result = try stats()
            case .shutdown:
                try shutdown(ShutdownParams.decode(params))
                send(c, .result(id: id, result: Empty().json))
                return
            }
            send(c, .result(id: id, result: result))
        } catch {
            send(c, .error(id: id, error: error))
        }
    }

    /// The exec named by params' execID; nil when params name none (the init).
    func execRef(_ params: JSONValue?) throws(RPCError) -> ExecProcess? {
        guard let name = try ExecRef.decode(params).execID else { return nil }
        try requireContainer()
        guard let e = execs[name] else { throw RPCError(RPCError.notFound, "no exec \(name) in container \(config.id)") }
        return e
    }

    func execState(_ e: ExecProcess) -> StateResult {
        StateResult(status: e.exit == nil ? "running" : "stopped", id: config.id, bundle: config.bundle, pid: Int(e.pid),
                    exitStatus: e.exit?.exitStatus, exitedAt: e.exit?.exitedAt, logPath: e.logPath, execID: e.id)
    }

    func exec(_ p: ExecParams) throws(RPCError) -> PidResult {
        try requireLive("exec")
        guard status == .running else { throw RPCError(RPCError.failedPrecondition, "exec: container \(config.id) is \(status.rawValue), not running") }
        guard !p.execID.isEmpty, p.execID.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw RPCError(RPCError.invalidParams, "invalid params: execID must be letters, digits, '-', '_' or '.'")
        }
        guard execs[p.execID] == nil else { throw RPCError(RPCError.failedPrecondition, "exec \(p.execID) already exists") }
        guard case .object = p.process else { throw RPCError(RPCError.invalidParams, "invalid params: process must be an object") }
        let terminal = p.process["terminal"]?.boolValue ?? false
        let path = p.stdio == .log ? Sys.absolute(p.logPath ?? config.bundle + "/exec-\(p.execID).log") : nil
        var io = try StdioSetup(log: path.map { ($0, p.logMaxSize ?? 0, p.logMaxFiles ?? 1) }, stdin: p.stdin, terminal: terminal,
                                consolePath: consoleSocketPath(p.execID))
        let processFile = config.bundle + "/shim-exec-\(p.execID).json"
        let pidFile = config.bundle + "/shim-exec-\(p.execID).pid"
        defer {
            unlink(processFile)
            unlink(pidFile)
        }
        do throws(RPCError) {
            try Sys.writeAtomically(processFile, Array(JSONWriter.write(p.process).utf8))
            try runner.run(["exec", "--detach", "--process", processFile, "--pid-file", pidFile] + io.runtimeArgs + [config.id],
                           fd0: io.input.r, fd1: io.out.w, fd2: io.err.w)
        } catch {
            io.abort()
            throw error
        }
        let got = try io.finish(owner: p.execID)
        guard let text = Sys.readText(pidFile), let pid = Int32(text.filter { $0 != "\n" && $0 != " " }), pid > 0 else {
            for s in got.streams { close(s.fd) }
            for fd in [got.pty, got.stdin] where fd >= 0 { close(fd) }
            throw RPCError(RPCError.shimFailed, "the runtime wrote no pid to \(pidFile)")
        }
        let e = ExecProcess(id: p.execID, pid: pid, logPath: path)
        e.ptyMaster = got.pty
        e.stdinFD = got.stdin
        execs[p.execID] = e
        streams += got.streams
        persist()
        events.emit(.execStarted, id: config.id, fields: [("execID", .string(p.execID)), ("pid", .int(pid))])
        reap()
        return PidResult(pid: Int(pid))
    }

    /// A manager (re)connecting: where events go from now on, and what is still queued.
    func connect(_ p: ConnectParams) -> ConnectResult {
        if let a = p.events {
            events.setAddress(a.isEmpty ? nil : a)
            persist()
        }
        events.flush()
        return ConnectResult(version: ShimProtocol.version, shimPid: Int(getpid()), pid: Int(initPid),
                             events: events.address, queuedEvents: events.pending)
    }

    func deleteExec(_ e: ExecProcess) throws(RPCError) -> ExitInfo {
        guard let x = e.exit else { throw RPCError(RPCError.failedPrecondition, "exec \(e.id) is running: kill it first") }
        closeStreams(owner: e.id)
        e.closeFDs()
        execs[e.id] = nil
        return x
    }

    /// Closes the process's stdin: a pipe is closed (the reader gets EOF); on a
    /// terminal the shim types the terminal's end-of-file character (VEOF,
    /// normally Ctrl-D), which a canonical-mode reader at the start of a line
    /// reads as EOF, as when a user presses Ctrl-D. Either way later attach
    /// input is refused.
    func closeStdin(_ ref: ExecRef) throws(RPCError) {
        try requireContainer()
        if let name = ref.execID {
            guard let e = execs[name] else { throw RPCError(RPCError.notFound, "no exec \(name) in container \(config.id)") }
            guard e.stdinFD >= 0 else { throw RPCError(RPCError.failedPrecondition, "exec \(name) has no stdin (or it was closed)") }
            if e.ptyMaster >= 0 { try Stdio.typeEOF(e.stdinFD) }
            close(e.stdinFD)
            e.stdinFD = -1
            return
        }
        guard stdinFD >= 0 else { throw RPCError(RPCError.failedPrecondition, "container \(config.id) has no stdin pipe (or it was closed)") }
        if ptyMaster >= 0 { try Stdio.typeEOF(stdinFD) }
        close(stdinFD)
        stdinFD = -1
    }

    /// Subscribes `c` to output and/or writes to stdin: what fits in the pipe
    /// (or terminal) now is written, `written` says how much (the rest is the caller's to retry).
    func attach(_ c: Client, _ p: AttachParams) throws(RPCError) -> JSONValue {
        try requireContainer()
        var target = stdinFD
        if let name = p.execID {
            guard let e = execs[name] else { throw RPCError(RPCError.notFound, "no exec \(name) in container \(config.id)") }
            target = e.stdinFD
        }
        var written = 0
        if let text = p.stdin {
            guard target >= 0 else { throw RPCError(RPCError.failedPrecondition, "no stdin pipe or terminal (or it was closed)") }
            let bytes = Array(text.utf8)
            while written < bytes.count {
                let n = bytes.withUnsafeBytes { write(target, $0.baseAddress! + written, bytes.count - written) }
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN { break }
                    throw Sys.fail("write to stdin")
                }
                written += n
            }
        }
        if p.output {
            guard streams.contains(where: { $0.owner == p.execID }) || (p.execID == nil ? exit : execs[p.execID!]?.exit) != nil else {
                throw RPCError(RPCError.failedPrecondition, "no output to attach to (started with stdio none and no terminal)")
            }
            attached.insert(c.fd)
        }
        return ["written": .int(written)]
    }

    func requireContainer() throws(RPCError) {
        if status == .none { throw RPCError(RPCError.notFound, "container \(config.id) has not been created") }
        if status == .deleted { throw RPCError(RPCError.notFound, "container \(config.id) was deleted") }
    }

    func hello(_ p: HelloParams) throws(RPCError) -> JSONValue {
        guard ShimProtocol.supportedVersions.contains(p.version) else {
            throw RPCError(RPCError.unsupportedVersion, "protocol version \(p.version) is not supported",
                           data: ["supported": .array(ShimProtocol.supportedVersions.map(JSONValue.int))])
        }
        return HelloResult(version: p.version, shim: "berth-shim", id: config.id,
                           methods: ShimMethod.allCases.filter(\.implemented).map(\.rawValue)).json
    }

    func create(_ p: CreateParams) throws(RPCError) -> PidResult {
        guard status == .none else { throw RPCError(RPCError.failedPrecondition, "container \(config.id) already exists in this shim") }
        let terminal = Sys.readFile(config.bundle + "/config.json").flatMap { try? JSONParser.parse($0) }?["process"]?["terminal"]?.boolValue ?? false
        let path = p.stdio == .log ? Sys.absolute(p.logPath ?? config.bundle + "/container.log") : nil
        var io = try StdioSetup(log: path.map { ($0, p.logMaxSize ?? 0, p.logMaxFiles ?? 1) }, stdin: p.stdin, terminal: terminal,
                                consolePath: consoleSocketPath(nil))
        let pidFile = config.bundle + "/shim-init.pid"
        unlink(pidFile)
        // `run --detach` is `create` and `start` in one runtime process (runc's too).
        let command = p.start ? ["run", "--detach"] : ["create"]
        do throws(RPCError) {
            try runner.run(command + ["--bundle", config.bundle, "--pid-file", pidFile] + io.runtimeArgs + [config.id],
                           fd0: io.input.r, fd1: io.out.w, fd2: io.err.w)
        } catch {
            io.abort()
            throw error
        }
        let got = try io.finish(owner: nil)
        streams += got.streams
        ptyMaster = got.pty
        stdinFD = got.stdin
        logPath = path
        guard let text = Sys.readText(pidFile), let pid = Int32(text.filter { $0 != "\n" && $0 != " " }), pid > 0 else {
            throw RPCError(RPCError.shimFailed, "the runtime wrote no pid to \(pidFile)")
        }
        initPid = pid
        status = p.start ? .running : .created
        oomWatch = OOMWatch.forProcess(pid)
        persist()
        // The init may have died already (it is our child now: reparented to this subreaper).
        reap()
        return PidResult(pid: Int(pid))
    }

    func consoleSocketPath(_ execID: String?) -> String {
        let name = execID.map { "shim-console-\($0).sock" } ?? "shim-console.sock"
        let p = config.bundle + "/" + name
        if p.utf8.count < 100 { return p }
        // A long bundle path or exec id: a short name of this shim's own (its pid
        // and the exec id's start; the socket lives only for the runtime call).
        mkdir("/run/berth-shim", 0o711)
        return "/run/berth-shim/\(getpid())-" + (execID.map { "exec-" + String($0.utf8.prefix(24))! } ?? "init") + ".sock"
    }

    func resizePty(_ p: ResizeParams) throws(RPCError) {
        try requireLive("resizePty")
        var fd = ptyMaster
        if let name = p.execID {
            guard let e = execs[name] else { throw RPCError(RPCError.notFound, "no exec \(name) in container \(config.id)") }
            fd = e.exit == nil ? e.ptyMaster : -1
        }
        guard fd >= 0 else { throw RPCError(RPCError.failedPrecondition, "no terminal (or its process has exited)") }
        guard p.width > 0, p.height > 0, p.width <= 65535, p.height <= 65535 else {
            throw RPCError(RPCError.invalidParams, "invalid params: width and height must be 1...65535")
        }
        if cb_ioctl_set_winsize(fd, UInt16(p.height), UInt16(p.width)) != 0 { throw Sys.fail("TIOCSWINSZ") }
    }

    func start() throws(RPCError) -> PidResult {
        try requireContainer()
        guard status == .created else { throw RPCError(RPCError.failedPrecondition, "container \(config.id) is \(status.rawValue), not created") }
        try runner.run(["start", config.id])
        if exit == nil { status = .running }
        persist()
        return PidResult(pid: Int(initPid))
    }

    func state() throws(RPCError) -> StateResult {
        try requireContainer()
        return StateResult(status: status.rawValue, id: config.id, bundle: config.bundle, pid: Int(initPid),
                           exitStatus: exit?.exitStatus, exitedAt: exit?.exitedAt, reason: exit?.reason, logPath: logPath)
    }

    func pids() throws(RPCError) -> PidsResult {
        try requireContainer()
        if exit != nil { return PidsResult(pids: []) }
        let out = try runner.run(["ps", "--format", "json", config.id], captureStdout: true)
        guard let v = try? JSONParser.parse(out), let list = v.arrayValue else {
            throw RPCError(RPCError.runtimeFailed, "ps: unexpected output \(String(decoding: out.prefix(200), as: UTF8.self))")
        }
        return PidsResult(pids: list.compactMap { $0.int64Value.map(Int.init) })
    }

    func kill(_ p: KillParams) throws(RPCError) {
        try requireContainer()
        guard p.signal > 0 && p.signal < 65 else { throw RPCError(RPCError.invalidParams, "invalid signal \(p.signal)") }
        if let name = p.execID {
            guard let e = execs[name] else { throw RPCError(RPCError.notFound, "no exec \(name) in container \(config.id)") }
            guard e.exit == nil else { throw RPCError(RPCError.failedPrecondition, "exec \(name) has exited") }
            // The exec is our child (reparented) and not yet reaped: its pid cannot have been reused.
            if Glibc.kill(e.pid, Int32(p.signal)) != 0 { throw Sys.fail("kill \(e.pid)") }
            return
        }
        if exit != nil && !p.all { throw RPCError(RPCError.failedPrecondition, "container \(config.id) is not running") }
        try runner.run(["kill"] + (p.all ? ["--all"] : []) + [config.id, String(p.signal)])
    }

    func delete() throws(RPCError) -> ExitInfo {
        try requireContainer()
        if (status == .running || status == .paused) && exit == nil {
            throw RPCError(RPCError.failedPrecondition, "container \(config.id) is \(status.rawValue): kill it first")
        }
        try runner.run(["delete"] + (exit == nil ? ["--force"] : []) + [config.id])
        if exit == nil {
            // A created container's init was killed by the runtime: collect it.
            var st: Int32 = 0
            if cb_wait_status(initPid, 0, &st) == initPid { recordExit(status: Int(st)) }
            else { recordExit(status: 137, reason: "deleted before it was started") }
        }
        closeStreams(owner: nil)
        if ptyMaster >= 0 { close(ptyMaster); ptyMaster = -1 }
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        for e in execs.values { closeStreams(owner: e.id); e.closeFDs() }
        execs = [:]
        status = .deleted
        persist()
        unlink(config.bundle + "/shim-init.pid")
        return exit!
    }

    func requireLive(_ what: String) throws(RPCError) {
        try requireContainer()
        if exit != nil { throw RPCError(RPCError.failedPrecondition, "\(what): container \(config.id) has exited") }
    }

    func pause() throws(RPCError) {
        try requireLive("pause")
        guard status == .running else { throw RPCError(RPCError.failedPrecondition, "pause: container \(config.id) is \(status.rawValue), not running") }
        try runner.run(["pause", config.id])
        status = .paused
        persist()
    }

    func resume() throws(RPCError) {
        try requireLive("resume")
        guard status == .paused else { throw RPCError(RPCError.failedPrecondition, "resume: container \(config.id) is \(status.rawValue), not paused") }
        try runner.run(["resume", config.id])
        if exit == nil { status = .running }
        persist()
    }

    func update(_ p: UpdateParams) throws(RPCError) {
        try requireLive("update")
        guard case .object = p.resources else { throw RPCError(RPCError.invalidParams, "invalid params: resources must be an object") }
        let file = config.bundle + "/shim-update.json"
        try Sys.writeAtomically(file, Array(JSONWriter.write(p.resources).utf8))
        defer { unlink(file) }
        try runner.run(["update", "--resources", file, config.id])
    }

    func stats() throws(RPCError) -> JSONValue {
        try requireLive("stats")
        let out = try runner.run(["events", "--stats", config.id], captureStdout: true)
        guard let v = try? JSONParser.parse(out), let data = v["data"] else {
            throw RPCError(RPCError.runtimeFailed, "events --stats: unexpected output \(String(decoding: out.prefix(200), as: UTF8.self))")
        }
        return data
    }

    func shutdown(_ p: ShutdownParams) throws(RPCError) {
        if (status == .created || status == .running || status == .paused) && exit == nil && !p.force {
            throw RPCError(RPCError.failedPrecondition, "container \(config.id) is \(status.rawValue): delete it first, or shut down with force")
        }
        quit = true
        unlink(config.socketPath)
        if status == .none || status == .deleted {
            unlink(ShimState.path(bundle: config.bundle))
            unlink(runner.logPath)
        } else {
            persist()
        }
    }
}
