import OCI
import RPC

/// What the shim records in the bundle directory (shim.json), rewritten
/// atomically at every change, so that a restarted manager (or
/// `berth-shim delete` after the shim died) knows the socket, the pids and the
/// exit status.
public struct ShimState: Decodable, Sendable {
    public var id: String
    public var bundle: String
    /// The shim's own pid.
    public var pid: Int
    /// "unix://" + socket path.
    public var address: String
    public var runtime: String
    public var runtimeRoot: String?
    /// "none" (nothing created yet), "created", "running", "stopped", "deleted".
    public var status: String
    public var containerPid: Int?
    public var exitStatus: Int?
    public var exitedAt: String?
    public var logPath: String?
    /// Where events go (the manager's events address), if anywhere.
    public var eventsAddress: String?
    /// The execs not yet deleted, with their exit once they have exited.
    public var execs: [Exec]?

    public struct Exec: Decodable, Sendable {
        public var execID: String
        public var pid: Int
        public var exitStatus: Int?
        public var exitedAt: String?
        var json: JSONValue {
            var pairs: [(String, JSONValue)] = [("execID", .string(execID)), ("pid", .int(pid))]
            if let exitStatus { pairs.append(("exitStatus", .int(exitStatus))) }
            if let exitedAt { pairs.append(("exitedAt", .string(exitedAt))) }
            return .object(pairs)
        }
    }

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("version", .int(ShimProtocol.version)), ("id", .string(id)), ("bundle", .string(bundle)),
            ("pid", .int(pid)), ("address", .string(address)), ("runtime", .string(runtime)),
        ]
        if let runtimeRoot { pairs.append(("runtimeRoot", .string(runtimeRoot))) }
        pairs.append(("status", .string(status)))
        if let containerPid { pairs.append(("containerPid", .int(containerPid))) }
        if let exitStatus { pairs.append(("exitStatus", .int(exitStatus))) }
        if let exitedAt { pairs.append(("exitedAt", .string(exitedAt))) }
        if let logPath { pairs.append(("logPath", .string(logPath))) }
        if let eventsAddress { pairs.append(("eventsAddress", .string(eventsAddress))) }
        if let execs, !execs.isEmpty { pairs.append(("execs", .array(execs.map(\.json)))) }
        return .object(pairs)
    }

    static func path(bundle: String) -> String { bundle + "/shim.json" }

    static func load(bundle: String) -> ShimState? {
        guard let bytes = Sys.readFile(path(bundle: bundle)) else { return nil }
        return try? JSONValueDecoder().decode(ShimState.self, from: bytes)
    }

    func save() throws(RPCError) {
        try Sys.writeAtomically(ShimState.path(bundle: bundle), Array((JSONWriter.write(json, indent: true) + "\n").utf8))
    }
}
