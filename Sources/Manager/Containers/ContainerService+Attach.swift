import Glibc
import OCI
import RPC

extension ContainerService {
    /// `attach`, and `run`/`start -a` with `start`: streams the init's output
    /// and relays input until it exits (its status) or the client leaves.
    func attach(_ entry: ContainerEntry, _ p: BerthAPI.ContainerAttachParams, ctx: RequestContext) throws -> BerthAPI.ContainerAttachResult {
        var relay: StreamRelay?
        let wantStdin = p.stdin ?? false
        let record = entry.record
        if wantStdin && record.config.openStdin != true && record.config.tty != true {
            throw BerthError(.invalidArgument, "the container was not created with an open stdin (-i)")
        }
        if p.start == true && !record.state.hasTask {
            try start(entry) { task in
                relay = try StreamRelay(address: task.address, execID: nil)
            }
        } else {
            guard let task = entry.locked({ $0.task }) else {
                throw BerthError(.failedPrecondition, "You cannot attach to a stopped container, start it first")
            }
            relay = try StreamRelay(address: task.address, execID: nil)
        }
        guard let relay else { return BerthAPI.ContainerAttachResult() }
        let before = entry.locked { $0.exits }
        let status = relay.run(for: ctx, stdin: wantStdin, alreadyExited: {
            entry.locked { g in g.exits > before || g.task == nil ? g.record.state.exitCode : nil }
        })
        return BerthAPI.ContainerAttachResult(exitCode: status)
    }

    func resize(_ entry: ContainerEntry, width: Int, height: Int, execID: String? = nil) throws {
        guard let task = entry.locked({ $0.task }) else { throw BerthError(.failedPrecondition, "Container \(entry.id) is not running") }
        let client = try shimClient(task)
        try shimCall { () throws(RPCError) in try client.resizePty(width: width, height: height, execID: execID) }
    }
}
