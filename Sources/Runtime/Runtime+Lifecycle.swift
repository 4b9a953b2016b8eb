import CBerth
import Glibc
import OCI

extension Runtime {
    /// start(1): release the init parked on the exec fifo, then run poststart hooks.
    public func start(id: String) throws(RuntimeError) {
        let s = try load(id)
        switch status(s) {
        case .created: break
        case .stopped: throw RuntimeError("cannot start a container that has stopped")
        case .running: throw RuntimeError("cannot start an already running container")
        case .paused: throw RuntimeError("cannot start a paused container")
        case .creating: throw RuntimeError("cannot start a container that is still being created")
        }
        let fifo = store.fifo(id)
        // Non-blocking: ENXIO means the reader (the init) is gone.
        let fd = cb_open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0)
        if fd < 0 {
            if errno == ENXIO || errno == ENOENT { throw RuntimeError("cannot start a container that has stopped") }
            throw RuntimeError.sys("open exec fifo \(fifo)")
        }
        var zero: UInt8 = 0x30
        let n = write(fd, &zero, 1)
        close(fd)
        if n != 1 { throw RuntimeError.sys("write exec fifo \(fifo)") }
        unlink(fifo)
        if let hooks = hooks(s)?.poststart {
            do { try HookRunner.run(.poststart, hooks, state: s.specState(.running)) } catch {
                // runtime.md lifecycle step 9: generate an error and stop the container;
                // `delete` then destroys it and runs the poststop hooks.
                try? killAll(s)
                throw error
            }
        }
    }

    func hooks(_ s: ContainerState) -> OCI.Hooks? {
        guard let h = s.config["hooks"] else { return nil }
        return try? JSONValueDecoder().decode(OCI.Hooks.self, from: h)
    }

    public func state(id: String) throws(RuntimeError) -> String {
        let s = try load(id)
        return JSONWriter.write(s.specState(status(s)), indent: true)
    }

    /// kill(1). With `all`, every process in the container's cgroup is signalled
    /// (the cgroup is frozen meanwhile so that none can fork away).
    public func kill(id: String, signal: Int32, all: Bool) throws(RuntimeError) {
        let s = try load(id)
        let st = status(s)
        // runc 1.1: kill --all of a stopped container signals what is left in its cgroup
        // and succeeds (the runc v2 shim runs it after the init exited).
        if all, st == .stopped {
            if let cg = cgroup(of: s) { for pid in cg.pids() { Glibc.kill(pid, signal) } }
            return
        }
        guard st != .stopped, st != .creating else { throw RuntimeError("container not running") }
        if all, let cg = cgroup(of: s) {
            let wasFrozen = cg.isFrozen()
            if !wasFrozen { try? cg.freeze(true) }
            for pid in cg.pids() { Glibc.kill(pid, signal) }
            if !wasFrozen || signal == SIGKILL { try? cg.freeze(false) }
            return
        }
        try signalInit(s, signal)
    }

    /// delete(1): a stopped or created container is removed; a running one only with force.
    public func delete(id: String, force: Bool) throws(RuntimeError) {
        try StateStore.validate(id: id)
        guard store.exists(id) else {
            if force { return }
            throw RuntimeError("container \(id) does not exist")
        }
        guard let s = try? store.load(id) else {
            // A create killed before it saved anything: only the directory is left.
            store.remove(id)
            return
        }
        let st = status(s)
        switch st {
        case .running, .paused:
            guard force else { throw RuntimeError("cannot delete container \(id) that is not stopped: \(st.rawValue)") }
            try killAll(s)
        case .created, .creating:
            try killAll(s)
        case .stopped:
            break
        }
        destroy(s)
    }

    func killAll(_ s: ContainerState) throws(RuntimeError) {
        let cg = cgroup(of: s)
        if let cg, cg.isFrozen() { try? cg.freeze(false) }
        if s.pid > 0 { _ = try? signalInit(s, SIGKILL) }
        // Without its own pid namespace, the init's death does not take the other
        // processes with it: kill what is left in the cgroup.
        if s.sharesHostPidNamespace, let cg { for p in cg.pids() { Glibc.kill(p, SIGKILL) } }
        if s.pid > 0, !waitGone(s.pid, startTime: s.pidStartTime) {
            throw RuntimeError("container \(s.id) did not exit after SIGKILL")
        }
    }

    /// Removes everything the container had on the host, then runs poststop hooks.
    func destroy(_ s: ContainerState) {
        if let cg = cgroup(of: s) {
            for p in cg.pids() { Glibc.kill(p, SIGKILL) }
            do { try cg.destroy() } catch { log.warning("remove cgroup: \(error.message)") }
        }
        HookRunner.runAll(.poststop, hooks(s)?.poststop, state: s.specState(.stopped), log: log)
        store.remove(s.id)
    }

    public func pause(id: String) throws(RuntimeError) {
        let s = try load(id)
        guard status(s) == .running || status(s) == .created else { throw RuntimeError("container not running") }
        guard let cg = cgroup(of: s) else { throw RuntimeError("container \(id) has no cgroup") }
        try cg.freeze(true)
    }

    public func resume(id: String) throws(RuntimeError) {
        let s = try load(id)
        guard status(s) == .paused else { throw RuntimeError("container not paused") }
        guard let cg = cgroup(of: s) else { throw RuntimeError("container \(id) has no cgroup") }
        try cg.freeze(false)
    }

    /// The pids in the container's cgroup (`ps --format json`).
    public func pids(id: String) throws(RuntimeError) -> [pid_t] {
        let s = try load(id)
        return cgroup(of: s)?.pids() ?? []
    }

    public enum ListFormat: String, Sendable { case table, json }

    public func list(format: ListFormat, quiet: Bool) throws(RuntimeError) -> String {
        var rows: [(ContainerState, ContainerState.Status)] = []
        for id in store.ids() {
            guard let s = try? store.load(id) else { continue }
            rows.append((s, status(s)))
        }
        if quiet { return rows.map { $0.0.id + "\n" }.joined() }
        switch format {
        case .json:
            let items: [JSONValue] = rows.map { s, st in s.specState(st).setting("owner", to: .string(owner(of: s.id))) }
            return JSONWriter.write(.array(items)) + "\n"
        case .table:
            var table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
            for (s, st) in rows {
                table.append([s.id, String(st == .stopped ? 0 : s.pid), st.rawValue, s.bundle, s.created, owner(of: s.id)])
            }
            return formatTable(table)
        }
    }

    func owner(of id: String) -> String {
        var st = stat()
        guard stat(store.directory(id), &st) == 0 else { return "" }
        // /etc/passwd read directly: the static binary has no NSS modules to load.
        if let passwd = try? FS.readString("/etc/passwd") {
            for line in passwd.split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count > 2, UInt32(f[2]) == st.st_uid { return String(f[0]) }
            }
        }
        return "#\(st.st_uid)"
    }
}

/// Columns padded like Go's tabwriter with minwidth 12 and padding 3, as runc prints `list`.
func formatTable(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], max(12, c.count + 3)) } }
    return rows.map { r in
        r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined()
    }.joined(separator: "\n") + "\n"
}
