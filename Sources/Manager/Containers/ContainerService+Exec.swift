import FoundationEssentials
import Glibc
import OCI
import RPC

extension ContainerService {
    func execCreate(_ p: BerthAPI.ExecCreateParams) throws -> BerthAPI.ExecCreateResult {
        let entry = try self.entry(p.id)
        let r = entry.record
        guard r.state.hasTask else { throw BerthError(.failedPrecondition, "Container \(r.id) is not running") }
        if r.state.status == .paused { throw BerthError(.failedPrecondition, "Container \(r.id) is paused, unpause the container before exec") }
        guard !p.cmd.isEmpty else { throw BerthError(.invalidArgument, "No exec command specified") }
        let id = Self.randomID()
        execs.withLock { $0[id] = ExecSession(id: id, containerID: r.id, config: p) }
        emit("exec_create: " + p.cmd.joined(separator: " "), r, ["execID": id])
        return BerthAPI.ExecCreateResult(execID: id)
    }

    func execSession(_ id: String) throws -> ExecSession {
        guard let s = execs.withLock({ $0[id] }) else { throw BerthError(.notFound, "No such exec instance: \(id)") }
        return s
    }

    /// The exec's OCI process: the container's (from its bundle's config.json)
    /// with the exec's command, environment, directory, user and terminal.
    func execProcess(_ s: ExecSession, bundle dir: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: dir + "/config.json"),
              let spec = try? JSONParser.parse(Array(data)), case .object(var process)? = spec["process"] else {
            throw BerthError(.internal, "cannot read the container's config.json in \(dir)")
        }
        func set(_ key: String, _ value: JSONValue) {
            if let i = process.firstIndex(where: { $0.0 == key }) { process[i].1 = value } else { process.append((key, value)) }
        }
        let c = s.config
        set("args", .array(c.cmd.map(JSONValue.string)))
        set("terminal", .bool(c.tty ?? false))
        if let extra = c.env, !extra.isEmpty, case .array(let base)? = process.first(where: { $0.0 == "env" })?.1 {
            var env = base.compactMap(\.stringValue)
            for kv in extra {
                let key = kv.split(separator: "=", maxSplits: 1).first.map(String.init) ?? kv
                if let i = env.firstIndex(where: { $0.hasPrefix(key + "=") }) { env[i] = kv } else { env.append(kv) }
            }
            set("env", .array(env.map(JSONValue.string)))
        }
        if let w = c.workingDir, !w.isEmpty { set("cwd", .string(w)) }
        if let u = c.user, !u.isEmpty {
            set("user", try execUser(u, rootfs: dir + "/rootfs"))
        }
        if c.privileged == true, let caps = Self.allCapabilities {
            let list = JSONValue.array(caps.map(JSONValue.string))
            set("capabilities", ["bounding": list, "effective": list, "permitted": list])
        }
        set("consoleSize", .null)
        return .object(process.filter { $0.1 != .null })
    }

    /// `exec.start`: runs the process; detached it answers at once, otherwise
    /// it streams like attach and answers with the exit status.
    func execStart(_ p: BerthAPI.ExecStartParams, ctx: RequestContext) throws -> BerthAPI.ExecStartResult {
        var s = try execSession(p.execID)
        guard !s.running && s.exitCode == nil else { throw BerthError(.conflict, "exec \(s.id) has already started") }
        let entry = try self.entry(s.containerID)
        guard let task = entry.locked({ $0.task }) else { throw BerthError(.failedPrecondition, "Container \(s.containerID) is not running") }
        let process = try execProcess(s, bundle: bundle(entry.id))
        let detach = p.detach ?? false
        let relay = detach ? nil : try StreamRelay(address: task.address, execID: s.id)
        let client = try relay?.controlClient ?? shimClient(task)
        let tty = s.config.tty ?? false
        let params = ExecParams(execID: s.id, process: process, stdio: detach ? .none : .log,
                                logPath: detach ? nil : "/dev/null", stdin: !detach && (s.config.attachStdin ?? false) && !tty)
        let pid = try shimCall { () throws(RPCError) in try client.exec(params) }.pid
        s.pid = pid
        s.running = true
        let started = s
        execs.withLock { $0[started.id] = started }
        emit("exec_start: " + s.config.cmd.joined(separator: " "), entry.record, ["execID": s.id])
        if let w = p.width, let h = p.height, tty { _ = try? client.resizePty(width: w, height: h, execID: s.id) }
        guard let relay else { return BerthAPI.ExecStartResult() }
        if s.config.attachStdin == true { ctx.onInput { m, params in relay.input(m, params) } }
        let request = ctx.id.json
        let status = relay.run(send: { chunk in
            var c = chunk
            c.request = request
            return ctx.notify(BerthAPI.StreamNotification.output, (try? JSONValueEncoder().encode(c)) ?? .null)
        }, isCancelled: { ctx.isCancelled }, alreadyExited: {
            self.execs.withLock { $0[started.id]?.exitCode }
        })
        if let status {
            execExited(s.id, status: status)
            _ = try? client.delete(execID: s.id)
        }
        return BerthAPI.ExecStartResult(exitCode: status)
    }

    func execInspect(_ id: String) throws -> BerthAPI.ExecInspect {
        let s = try execSession(id)
        return BerthAPI.ExecInspect(id: s.id, containerID: s.containerID, running: s.running, exitCode: s.exitCode, pid: s.pid)
    }

    /// Every capability this kernel has (`--privileged` exec), from /proc/sys/kernel/cap_last_cap.
    static let allCapabilities: [String]? = {
        let names = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
                     "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
                     "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
                     "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
                     "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
                     "CHECKPOINT_RESTORE"]
        let last = FileManager.default.contents(atPath: "/proc/sys/kernel/cap_last_cap")
            .flatMap { Int(String(decoding: $0.filter { $0 >= 48 && $0 <= 57 }, as: UTF8.self)) } ?? 40
        return names.prefix(last + 1).map { "CAP_" + $0 }
    }()

    /// "uid[:gid]" or names looked up in the container's /etc/passwd and /etc/group.
    func execUser(_ spec: String, rootfs: String) throws -> JSONValue {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        func lookup(_ file: String, _ name: String) -> [String]? {
            guard let data = FileManager.default.contents(atPath: rootfs + file) else { return nil }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                if f.count >= 3 && f[0] == name { return f }
            }
            return nil
        }
        var uid: Int64, gid: Int64 = 0
        if let n = Int64(parts[0]) { uid = n } else if let f = lookup("/etc/passwd", parts[0]), let u = Int64(f[2]) {
            uid = u
            gid = f.count > 3 ? Int64(f[3]) ?? 0 : 0
        } else {
            throw BerthError(.invalidArgument, "unable to find user \(parts[0]): no matching entries in passwd file")
        }
        if parts.count > 1 {
            if let n = Int64(parts[1]) { gid = n } else if let f = lookup("/etc/group", parts[1]), let g = Int64(f[2]) { gid = g } else {
                throw BerthError(.invalidArgument, "unable to find group \(parts[1]): no matching entries in group file")
            }
        }
        return ["uid": .int(uid), "gid": .int(gid)]
    }
}
