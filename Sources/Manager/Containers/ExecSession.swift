import RPC

/// An exec created by `exec.create` and run by `exec.start`: kept in memory
/// (Docker's behaviour), forgotten when its container's task ends.
struct ExecSession: Sendable {
    let id: String
    let containerID: String
    var config: BerthAPI.ExecCreateParams
    var pid: Int = 0
    var running = false
    var exitCode: Int?

    init(id: String, containerID: String, config: BerthAPI.ExecCreateParams) {
        self.id = id
        self.containerID = containerID
        self.config = config
    }
}

extension ContainerService {
    /// The shim's execExited event.
    func execExited(_ id: String, status: Int) {
        let found: ExecSession? = execs.withLock { t in
            guard var s = t[id] else { return nil }
            s.running = false
            s.exitCode = status
            t[id] = s
            return s
        }
        if let s = found, let entry = try? self.entry(s.containerID) {
            emit("exec_die", entry.record, ["execID": id, "exitCode": String(status)])
        }
    }
}
