import OCI

/// The berth-shim protocol (docs/shim-protocol.md): method names, and the
/// params and results of each, shared by the shim (server) and its clients.

public enum ShimProtocol {
    /// The protocol version this build speaks; `hello` negotiates it.
    public static let version = 1
    public static let supportedVersions = [1]
}

public enum ShimMethod: String, Sendable, CaseIterable {
    case hello, create, start, state, pids, kill, wait, delete, shutdown
    case exec, resizePty, closeStdin, pause, resume, update, stats, attach, connect

    /// Methods this build serves (hello lists them); a method of the protocol
    /// that a build leaves out answers notImplemented. This build serves all.
    public var implemented: Bool { true }
}

/// Notifications the shim sends to every connected client.
public enum ShimNotification: String, Sendable {
    case exit
    /// Output of the container, to connections that attached: `{"stream", "data"}`.
    case output
    /// An event to the manager's events address (`ShimEventTopic`).
    case event
}

/// The topics of `event` notifications (docs/shim-protocol.md, Events).
public enum ShimEventTopic: String, Sendable, CaseIterable {
    /// The container's init exited: pid, exitStatus, exitedAt, oomKilled?.
    case exit
    /// The kernel's OOM killer acted in the container's memory cgroup.
    case oom
    /// An exec'd process started: execID, pid.
    case execStarted
    /// An exec'd process exited: execID, pid, exitStatus, exitedAt.
    case execExited
}

/// Params and results: Decodable through JSONValueDecoder, written back with `json`.
public protocol RPCValue: Decodable, Sendable {
    var json: JSONValue { get }
}

extension RPCValue {
    /// Decodes params (absent params read as {}); failures are invalidParams.
    public static func decode(_ v: JSONValue?) throws(RPCError) -> Self {
        do { return try JSONValueDecoder().decode(Self.self, from: v ?? .object([])) }
        catch { throw RPCError(RPCError.invalidParams, "invalid params: \(error)") }
    }
}

private func object(_ pairs: [(String, JSONValue?)]) -> JSONValue {
    .object(pairs.compactMap { k, v in v.map { (k, $0) } })
}

public struct Empty: RPCValue, Equatable {
    public init() {}
    public var json: JSONValue { .object([]) }
}

public struct HelloParams: RPCValue, Equatable {
    public var version: Int
    public var client: String?
    public init(version: Int = ShimProtocol.version, client: String? = nil) { self.version = version; self.client = client }
    public var json: JSONValue { object([("version", .int(version)), ("client", client.map(JSONValue.string))]) }
}

public struct HelloResult: RPCValue, Equatable {
    public var version: Int
    public var shim: String
    public var id: String
    public var methods: [String]
    public init(version: Int, shim: String, id: String, methods: [String]) {
        self.version = version; self.shim = shim; self.id = id; self.methods = methods
    }
    public var json: JSONValue {
        object([("version", .int(version)), ("shim", .string(shim)), ("id", .string(id)), ("methods", .array(methods.map(JSONValue.string)))])
    }
}

public enum StdioMode: String, Sendable, Decodable {
    /// stdin, stdout and stderr are /dev/null.
    case none
    /// stdout and stderr go to a JSON-lines log file; stdin is /dev/null.
    case log
}

public struct CreateParams: RPCValue, Equatable {
    public var stdio: StdioMode
    public var logPath: String?
    public var logMaxSize: Int64?
    public var logMaxFiles: Int?
    /// The container's stdin is a pipe the shim holds (written by attach, closed by closeStdin)
    /// instead of /dev/null. Not with a terminal.
    public var stdin: Bool
    /// Start the process too, in the same runtime call (`runtime run --detach`):
    /// one runtime process instead of two (`create`, `start`), for a manager
    /// with nothing to do between them.
    public var start: Bool
    public init(stdio: StdioMode = .none, logPath: String? = nil, logMaxSize: Int64? = nil, logMaxFiles: Int? = nil, stdin: Bool = false,
                start: Bool = false) {
        self.stdio = stdio; self.logPath = logPath; self.logMaxSize = logMaxSize; self.logMaxFiles = logMaxFiles; self.stdin = stdin
        self.start = start
    }
    enum CodingKeys: String, CodingKey { case stdio, logPath, logMaxSize, logMaxFiles, stdin, start }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stdio = try c.decodeIfPresent(StdioMode.self, forKey: .stdio) ?? .none
        logPath = try c.decodeIfPresent(String.self, forKey: .logPath)
        logMaxSize = try c.decodeIfPresent(Int64.self, forKey: .logMaxSize)
        logMaxFiles = try c.decodeIfPresent(Int.self, forKey: .logMaxFiles)
        stdin = try c.decodeIfPresent(Bool.self, forKey: .stdin) ?? false
        start = try c.decodeIfPresent(Bool.self, forKey: .start) ?? false
    }
    public var json: JSONValue {
        object([("stdio", .string(stdio.rawValue)), ("logPath", logPath.map(JSONValue.string)),
                ("logMaxSize", logMaxSize.map(JSONValue.int)), ("logMaxFiles", logMaxFiles.map(JSONValue.int)),
                ("stdin", stdin ? .bool(true) : nil), ("start", start ? .bool(true) : nil)])
    }
}

/// The result of create and start: the container's init pid (host pid namespace).
public struct PidResult: RPCValue, Equatable {
    public var pid: Int
    public init(pid: Int) { self.pid = pid }
    public var json: JSONValue { ["pid": .int(pid)] }
}

/// The container as the shim knows it.
public struct StateResult: RPCValue, Equatable {
    /// "created", "running", "paused" or "stopped".
    public var status: String
    public var id: String
    public var bundle: String
    public var pid: Int
    public var exitStatus: Int?
    public var exitedAt: String?
    public var reason: String?
    public var logPath: String?
    /// Set when this is the state of an exec'd process ("running" or "stopped").
    public var execID: String?
    public init(status: String, id: String, bundle: String, pid: Int, exitStatus: Int? = nil, exitedAt: String? = nil,
                reason: String? = nil, logPath: String? = nil, execID: String? = nil) {
        self.status = status; self.id = id; self.bundle = bundle; self.pid = pid
        self.exitStatus = exitStatus; self.exitedAt = exitedAt; self.reason = reason; self.logPath = logPath; self.execID = execID
    }
    public var json: JSONValue {
        object([("id", .string(id)), ("execID", execID.map(JSONValue.string)), ("bundle", .string(bundle)), ("status", .string(status)), ("pid", .int(pid)),
                ("exitStatus", exitStatus.map(JSONValue.int)), ("exitedAt", exitedAt.map(JSONValue.string)),
                ("reason", reason.map(JSONValue.string)), ("logPath", logPath.map(JSONValue.string))])
    }
}

public struct PidsResult: RPCValue, Equatable {
    public var pids: [Int]
    public init(pids: [Int]) { self.pids = pids }
    public var json: JSONValue { ["pids": .array(pids.map(JSONValue.int))] }
}

public struct KillParams: RPCValue, Equatable {
    /// A signal number; 15 (SIGTERM) when absent.
    public var signal: Int
    /// Every process of the container, not only its init.
    public var all: Bool
    /// An exec'd process instead of the init.
    public var execID: String?
    public init(signal: Int = 15, all: Bool = false, execID: String? = nil) { self.signal = signal; self.all = all; self.execID = execID }
    enum CodingKeys: String, CodingKey { case signal, all, execID }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        signal = try c.decodeIfPresent(Int.self, forKey: .signal) ?? 15
        all = try c.decodeIfPresent(Bool.self, forKey: .all) ?? false
        execID = try c.decodeIfPresent(String.self, forKey: .execID)
    }
    public var json: JSONValue { object([("signal", .int(signal)), ("all", .bool(all)), ("execID", execID.map(JSONValue.string))]) }
}

/// How the container's init ended: the result of wait and delete, and the
/// params of the exit notification.
public struct ExitInfo: RPCValue, Equatable {
    public var id: String
    /// The exec's id when this is an exec'd process, absent for the container's init.
    public var execID: String?
    public var pid: Int
    /// The exit code, or 128 + the signal number that killed it.
    public var exitStatus: Int
    /// RFC 3339 with nanoseconds, UTC.
    public var exitedAt: String
    /// Set when the status was not observed but derived (the shim was killed).
    public var reason: String?
    /// True when the kernel's OOM killer acted in the container's cgroup before
    /// the init exited (Docker's State.OOMKilled); absent otherwise.
    public var oomKilled: Bool?
    public init(id: String, pid: Int, exitStatus: Int, exitedAt: String, reason: String? = nil, execID: String? = nil,
                oomKilled: Bool? = nil) {
        self.id = id; self.pid = pid; self.exitStatus = exitStatus; self.exitedAt = exitedAt; self.reason = reason; self.execID = execID
        self.oomKilled = oomKilled
    }
    public var json: JSONValue {
        object([("id", .string(id)), ("execID", execID.map(JSONValue.string)), ("pid", .int(pid)), ("exitStatus", .int(exitStatus)),
                ("exitedAt", .string(exitedAt)), ("reason", reason.map(JSONValue.string)), ("oomKilled", oomKilled.map(JSONValue.bool))])
    }
}

/// Names one exec'd process (wait, state, kill, delete); absent means the container's init.
public struct ExecRef: RPCValue, Equatable {
    public var execID: String?
    public init(execID: String? = nil) { self.execID = execID }
    public var json: JSONValue { object([("execID", execID.map(JSONValue.string))]) }
}

public struct ExecParams: RPCValue, Equatable {
    /// Unique among this shim's live execs.
    public var execID: String
    /// An OCI `process` object (config.md), as `runtime exec --process` takes it; `terminal` must be false.
    public var process: JSONValue
    public var stdio: StdioMode
    /// With stdio "log": the exec's own JSON-lines log (default DIR/exec-EXECID.log), rotated as create's.
    public var logPath: String?
    public var logMaxSize: Int64?
    public var logMaxFiles: Int?
    /// A stdin pipe the shim holds (attach, closeStdin); with a terminal, stdin is the terminal.
    public var stdin: Bool
    public init(execID: String, process: JSONValue, stdio: StdioMode = .none, logPath: String? = nil,
                logMaxSize: Int64? = nil, logMaxFiles: Int? = nil, stdin: Bool = false) {
        self.execID = execID; self.process = process; self.stdio = stdio; self.logPath = logPath
        self.logMaxSize = logMaxSize; self.logMaxFiles = logMaxFiles; self.stdin = stdin
    }
    enum CodingKeys: String, CodingKey { case execID, process, stdio, logPath, logMaxSize, logMaxFiles, stdin }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        execID = try c.decode(String.self, forKey: .execID)
        process = try c.decode(JSONValue.self, forKey: .process)
        stdio = try c.decodeIfPresent(StdioMode.self, forKey: .stdio) ?? .none
        logPath = try c.decodeIfPresent(String.self, forKey: .logPath)
        logMaxSize = try c.decodeIfPresent(Int64.self, forKey: .logMaxSize)
        logMaxFiles = try c.decodeIfPresent(Int.self, forKey: .logMaxFiles)
        stdin = try c.decodeIfPresent(Bool.self, forKey: .stdin) ?? false
    }
    public var json: JSONValue {
        object([("execID", .string(execID)), ("process", process), ("stdio", .string(stdio.rawValue)), ("logPath", logPath.map(JSONValue.string)),
                ("logMaxSize", logMaxSize.map(JSONValue.int)), ("logMaxFiles", logMaxFiles.map(JSONValue.int)),
                ("stdin", stdin ? .bool(true) : nil)])
    }
}

public struct UpdateParams: RPCValue, Equatable {
    /// A LinuxResources object of the runtime spec (config-linux.md), as `runtime update -r` takes it.
    public var resources: JSONValue
    public init(resources: JSONValue) { self.resources = resources }
    public var json: JSONValue { ["resources": resources] }
}

public struct ResizeParams: RPCValue, Equatable {
    /// Columns and rows.
    public var width: Int
    public var height: Int
    public var execID: String?
    public init(width: Int, height: Int, execID: String? = nil) { self.width = width; self.height = height; self.execID = execID }
    public var json: JSONValue { object([("width", .int(width)), ("height", .int(height)), ("execID", execID.map(JSONValue.string))]) }
}

/// connect's params: a manager coming back names where events go now.
public struct ConnectParams: RPCValue, Equatable {
    /// The manager's events address ("unix:///path" or "/path"); absent keeps
    /// the current one. Events waiting in the queue are sent there at once.
    public var events: String?
    public init(events: String? = nil) { self.events = events }
    public var json: JSONValue { object([("events", events.map(JSONValue.string))]) }
}

/// The result of connect: who is who, for a manager that (re)connects.
public struct ConnectResult: RPCValue, Equatable {
    public var version: Int
    public var shimPid: Int
    /// The container's init pid; 0 before create.
    public var pid: Int
    /// The events address in use, if any.
    public var events: String?
    /// Events still waiting to be delivered after this call's attempt.
    public var queuedEvents: Int?
    public init(version: Int, shimPid: Int, pid: Int, events: String? = nil, queuedEvents: Int? = nil) {
        self.version = version; self.shimPid = shimPid; self.pid = pid; self.events = events; self.queuedEvents = queuedEvents
    }
    public var json: JSONValue {
        object([("version", .int(version)), ("shimPid", .int(shimPid)), ("pid", .int(pid)), ("events", events.map(JSONValue.string)),
                ("queuedEvents", queuedEvents.map(JSONValue.int))])
    }
}

public struct AttachParams: RPCValue, Equatable {
    /// Subscribe this connection to `output` notifications (until it closes).
    public var output: Bool
    /// Text to write to the stdin pipe or terminal (create/exec with stdin: true, or a terminal).
    public var stdin: String?
    /// Where stdin goes (and whose output must exist): an exec instead of the init.
    /// Output subscriptions get every stream; notifications carry execID.
    public var execID: String?
    public init(output: Bool = true, stdin: String? = nil, execID: String? = nil) { self.output = output; self.stdin = stdin; self.execID = execID }
    enum CodingKeys: String, CodingKey { case output, stdin, execID }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        output = try c.decodeIfPresent(Bool.self, forKey: .output) ?? true
        stdin = try c.decodeIfPresent(String.self, forKey: .stdin)
        execID = try c.decodeIfPresent(String.self, forKey: .execID)
    }
    public var json: JSONValue { object([("output", .bool(output)), ("stdin", stdin.map(JSONValue.string)), ("execID", execID.map(JSONValue.string))]) }
}

public struct ShutdownParams: RPCValue, Equatable {
    /// Shut down even though the container still exists (it is left running).
    public var force: Bool
    public init(force: Bool = false) { self.force = force }
    enum CodingKeys: String, CodingKey { case force }
    public init(from decoder: any Decoder) throws {
        force = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Bool.self, forKey: .force) ?? false
    }
    public var json: JSONValue { ["force": .bool(force)] }
}

/// What `berth-shim start` prints (one JSON line).
public struct StartOutput: RPCValue, Equatable {
    /// "unix://" + the socket path.
    public var address: String
    public var pid: Int
    public init(address: String, pid: Int) { self.address = address; self.pid = pid }
    public var json: JSONValue { ["address": .string(address), "pid": .int(pid)] }
    public var socketPath: String { address.hasPrefix("unix://") ? String(address.dropFirst(7)) : address }
}
