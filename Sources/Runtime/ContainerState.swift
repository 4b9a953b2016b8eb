import CBerth
import Glibc
import OCI

/// What the runtime keeps in `<root>/<id>/state.json` between commands.
/// The status is not stored: it is derived each time from the init process
/// (alive? same start time, so not a recycled pid?), the exec fifo (created)
/// and the freezer (paused), as runc does.
public struct ContainerState {
    public enum Status: String { case creating, created, running, paused, stopped }

    var id: String
    var pid: pid_t
    /// Field 22 of /proc/<pid>/stat at create time: guards against pid reuse.
    var pidStartTime: UInt64
    var bundle: String
    var rootfs: String
    var created: String
    var owner: String
    var annotations: [(String, String)]
    var cgroupPath: String
    /// Namespace paths of the init, kept for `exec` and `delete`.
    var namespaces: [String]
    var sharesHostPidNamespace: Bool
    /// The config's hooks and process, for poststop at delete and defaults at exec.
    var config: JSONValue

    var json: JSONValue {
        [
            "id": .string(id), "pid": .int(pid), "pidStartTime": .number(String(pidStartTime)),
            "bundle": .string(bundle), "rootfs": .string(rootfs), "created": .string(created), "owner": .string(owner),
            "annotations": .object(annotations.map { ($0.0, .string($0.1)) }), "cgroupPath": .string(cgroupPath),
            "namespaces": .array(namespaces.map { .string($0) }), "sharesHostPidNamespace": .bool(sharesHostPidNamespace),
            "config": config,
        ]
    }

    init(id: String, pid: pid_t, pidStartTime: UInt64, bundle: String, rootfs: String, created: String, owner: String,
         annotations: [(String, String)], cgroupPath: String, namespaces: [String], sharesHostPidNamespace: Bool, config: JSONValue) {
        self.id = id; self.pid = pid; self.pidStartTime = pidStartTime; self.bundle = bundle; self.rootfs = rootfs
        self.created = created; self.owner = owner; self.annotations = annotations; self.cgroupPath = cgroupPath
        self.namespaces = namespaces; self.sharesHostPidNamespace = sharesHostPidNamespace; self.config = config
    }

    init(json v: JSONValue) throws(RuntimeError) {
        guard let id = v["id"]?.stringValue, let pid = v["pid"]?.int64Value else { throw RuntimeError("state.json is damaged") }
        self.id = id
        self.pid = pid_t(pid)
        if case .number(let n)? = v["pidStartTime"] { pidStartTime = UInt64(n) ?? 0 } else { pidStartTime = 0 }
        bundle = v["bundle"]?.stringValue ?? ""
        rootfs = v["rootfs"]?.stringValue ?? ""
        created = v["created"]?.stringValue ?? ""
        owner = v["owner"]?.stringValue ?? ""
        annotations = (v["annotations"]?.objectValue ?? []).compactMap { k, v in v.stringValue.map { (k, $0) } }
        cgroupPath = v["cgroupPath"]?.stringValue ?? ""
        namespaces = (v["namespaces"]?.arrayValue ?? []).compactMap(\.stringValue)
        sharesHostPidNamespace = v["sharesHostPidNamespace"]?.boolValue ?? false
        config = v["config"] ?? .object([])
    }

    /// The runtime-spec state object, with runc's extra fields, as `state` prints it.
    func specState(_ status: Status) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("ociVersion", .string(RuntimeInfo.ociVersion)), ("id", .string(id)),
            ("pid", .int(status == .stopped ? 0 : pid)), ("status", .string(status.rawValue)),
            ("bundle", .string(bundle)), ("rootfs", .string(rootfs)), ("created", .string(created)),
        ]
        if !annotations.isEmpty { pairs.append(("annotations", .object(annotations.map { ($0.0, .string($0.1)) }))) }
        pairs.append(("owner", .string(owner)))
        return .object(pairs)
    }
}

/// Facts about a live process read from /proc.
enum ProcInfo {
    /// (state letter, start time) from /proc/<pid>/stat; nil if the process is gone.
    static func stat(_ pid: pid_t) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = try? FS.readString("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count > 19, let state = rest[0].first, let start = UInt64(rest[19]) else { return nil }
        return (state, start)
    }

    /// Alive, not a zombie, and the same process as recorded.
    static func isAlive(_ pid: pid_t, startTime: UInt64) -> Bool {
        guard let s = stat(pid) else { return false }
        if s.state == "Z" || s.state == "X" { return false }
        return startTime == 0 || s.startTime == startTime
    }
}
