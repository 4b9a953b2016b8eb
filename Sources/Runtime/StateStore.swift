import CBerth
import Glibc
import OCI

/// The `--root` directory: one `<id>/` per container holding state.json and,
/// until `start`, the exec fifo that holds the init before the user process.
struct StateStore {
    let root: String

    init(root: String) { self.root = root }

    static func validate(id: String) throws(RuntimeError) {
        guard !id.isEmpty else { throw RuntimeError("container id cannot be empty") }
        guard id != ".", id != "..", !id.includes("/"), !id.includes("\0") else {
            throw RuntimeError("invalid container ID format: \(id)")
        }
        guard id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), id.utf8.count <= 1024 else {
            throw RuntimeError("invalid container ID format: \(id)")
        }
    }

    func directory(_ id: String) -> String { root + "/" + id }
    func fifo(_ id: String) -> String { directory(id) + "/exec.fifo" }
    func stateFile(_ id: String) -> String { directory(id) + "/state.json" }

    func exists(_ id: String) -> Bool { FS.exists(directory(id)) }

    /// Reserves the id: mkdir is the atomic test, so two concurrent creates of the
    /// same id cannot both win.
    func reserve(_ id: String) throws(RuntimeError) {
        try StateStore.validate(id: id)
        try FS.mkdirAll(root, mode: 0o711)
        if mkdir(directory(id), 0o711) != 0 {
            if errno == EEXIST { throw RuntimeError("container with given ID already exists: \(id)") }
            throw RuntimeError.sys("create state directory \(directory(id))")
        }
    }

    func save(_ state: ContainerState) throws(RuntimeError) {
        try FS.writeAtomically(stateFile(state.id), Array(JSONWriter.write(state.json).utf8), mode: 0o600)
    }

    func load(_ id: String) throws(RuntimeError) -> ContainerState {
        try StateStore.validate(id: id)
        let path = stateFile(id)
        guard FS.exists(path) else { throw RuntimeError("container \(id) does not exist") }
        let bytes = try FS.readBytes(path)
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw RuntimeError("container \(id): state.json: \(error.message)") }
        return try ContainerState(json: value)
    }

    func remove(_ id: String) { FS.removeAll(directory(id)) }

    func ids() -> [String] { FS.listDirectory(root).filter { FS.isDirectory(directory($0)) } }

    func status(of s: ContainerState, cgroup: () -> (any Cgroup)?) -> ContainerState.Status {
        if s.pid <= 0 { return .creating }
        guard ProcInfo.isAlive(s.pid, startTime: s.pidStartTime) else { return .stopped }
        if FS.exists(fifo(s.id)) { return .created }
        if let cgroup = cgroup(), cgroup.isFrozen() { return .paused }
        return .running
    }
}
