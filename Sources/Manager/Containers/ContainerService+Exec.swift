import ContainerSpec
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
    func execProcess(_ s: ExecSession, bundle dir: String, rootfs: String) throws -> JSONValue {
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
            set("user", try execUser(u, rootfs: rootfs))
        }
        if c.privileged == true {
            let list = JSONValue.array(CapabilitySet.all(lastCap: Self.specBuilder.host.lastCap).map(JSONValue.string))
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
        let process = try execProcess(s, bundle: bundle(entry.id), rootfs: taskRootfs(entry.id, task))
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
        let status = relay.run(for: ctx, stdin: s.config.attachStdin == true, alreadyExited: {
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

    /// The exec's user, looked up in the container's own /etc/passwd and
    /// /etc/group (read inside the rootfs, as for the init: ContainerSpec).
    func execUser(_ spec: String, rootfs: String) throws -> JSONValue {
        let u: ResolvedUser
        do { u = try UserResolver.resolve(spec, rootfs: rootfs) } catch { throw BerthError(.invalidArgument, error.message) }
        var fields: [(String, JSONValue)] = [("uid", .int(Int64(u.uid))), ("gid", .int(Int64(u.gid)))]
        if !u.additionalGids.isEmpty { fields.append(("additionalGids", .array(u.additionalGids.map { .int(Int64($0)) }))) }
        return .object(fields)
    }
}
