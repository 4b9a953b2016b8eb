/// Global options, as runc takes them before the command.
public struct RuntimeOptions: Sendable {
    public var root = Runtime.defaultRoot
    public var log = RuntimeLog()
    public var systemdCgroup = false
    public var rootless: String?

    public init() {}
}

public struct CreateOptions: Sendable {
    public var bundle = "."
    public var consoleSocket: String?
    public var pidFile: String?
    public var noPivot = false
    public var noNewKeyring = false
    public var preserveFDs: Int32 = 0
    public init() {}
}

public struct ExecOptions: Sendable {
    public var processFile: String?
    public var args: [String] = []
    public var tty = false
    public var consoleSocket: String?
    public var detach = false
    public var pidFile: String?
    public var cwd: String?
    public var env: [String] = []
    public var user: String?
    public var additionalGids: [UInt32] = []
    public var caps: [String] = []
    public var noNewPrivs = false
    public var preserveFDs: Int32 = 0
    public var ignorePaused = false
    /// --apparmor and --process-label: set process.apparmorProfile and
    /// process.selinuxLabel, also over a --process file's.
    public var apparmorProfile: String?
    public var processLabel: String?
    public init() {}
}

public enum RuntimeInfo {
    public static let version = "0.1.0"
    public static let ociVersion = "1.2.0"
}
