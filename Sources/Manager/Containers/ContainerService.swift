import Content
import FoundationEssentials
import Glibc
import Metadata
import OCI
import RPC
import Snapshots
import Synchronization

/// Containers and their tasks: each container is a record (ContainerStore), a
/// writable snapshot on its image's layers, and while it runs a task: a
/// bundle under `<state>/containers/<id>` run by one berth-shim, which starts
/// it through berth-runtime, writes its log, reaps it and tells berthd
/// (ShimMonitor) when it exits. berthd can die and come back: the records say
/// what ran, the shims are found again through their bundles (Reconcile).
public final class ContainerService: Sendable {
    public struct Paths: Sendable {
        /// `<root>/containers/<id>/`: what outlives a task (the log).
        public var persistent: String
        /// `<state>/containers/<id>/`: the bundle of the running task.
        public var bundles: String
        /// berth-runtime's --root.
        public var runtimeRoot: String
        /// The socket shims send events to.
        public var eventsSocket: String
        public var shim: String
        public var runtime: String
        /// Host path of berth-init, bind-mounted for `--init` (nil when not installed).
        public var initBinary: String?
    }

    let paths: Paths
    let store: ContainerStore
    let images: ImageService
    let volumes: VolumeService
    public let events: EventLog
    let logger: Logger
    let monitor: ShimMonitor
    /// Interfaces, addresses and published ports of the tasks (docs/networking.md).
    let networking: NetworkService
    private let table = Mutex<[String: ContainerEntry]>([:])
    /// Every container's name → its id. A lookup by name reads this instead of
    /// visiting every container (each create's generated-name check did, and
    /// grew slower with every container). Kept by add, drop and rename; a leaf
    /// lock, taken while holding a container's mutex, never the reverse.
    private let names = Mutex<[String: String]>([:])
    /// Snapshot keys of containers being created (prepared, not yet in the
    /// table): garbage collection must not take them meanwhile.
    let creating = Mutex<Set<String>>([])
    /// Snapshot keys of `--rm` containers removed at their exit whose layers
    /// are still being removed (taskExited): garbage collection keeps them too.
    let tearingDown = Mutex<Set<String>>([])
    /// Exec sessions by exec id (kept in memory, as Docker does).
    let execs = Mutex<[String: ExecSession]>([:])
    /// Task exits being handled (taskExited): berthd's shutdown waits for them,
    /// so that a `--rm` container's teardown, which goes on after `run --rm`
    /// has returned, is not cut short, leaving its shim and mounts to the next start.
    let exitsInProgress = Mutex(0)

    init(paths: Paths, store: ContainerStore, images: ImageService, volumes: VolumeService, networking: NetworkService, logger: Logger) {
        self.paths = paths
        self.networking = networking
        self.store = store
        self.images = images
        self.volumes = volumes
        self.logger = logger
        events = EventLog()
        monitor = ShimMonitor(socketPath: paths.eventsSocket)
    }

    // MARK: The table

    var entries: [ContainerEntry] { table.withLock { Array($0.values) } }

    func add(_ entry: ContainerEntry) {
        let name = entry.record.name
        table.withLock { $0[entry.id] = entry }
        names.withLock { $0[name] = entry.id }
    }

    /// Forgets the container `id`, known by `name` (its record's).
    func drop(_ id: String, name: String) {
        _ = table.withLock { $0.removeValue(forKey: id) }
        names.withLock { n in if n[name] == id { n[name] = nil } }
    }

    /// A rename that has been stored: the name index follows.
    func renamed(_ id: String, from old: String, to new: String) {
        names.withLock { n in
            if n[old] == id { n[old] = nil }
            n[new] = id
        }
    }

    /// Docker's lookup: the full id, then an exact name, then a unique id prefix.
    func entry(_ ref: String) throws -> ContainerEntry {
        let name = ref.hasPrefix("/") ? String(ref.dropFirst()) : ref
        let all = table.withLock { $0 }
        if let e = all[ref] { return e }
        if let e = nameTaken(name) { return e }
        if !ref.isEmpty {
            let matches = all.values.filter { $0.id.hasPrefix(ref) }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 {
                throw BerthError(.invalidArgument, "multiple IDs found with provided prefix: \(ref)")
            }
        }
        throw BerthError(.notFound, "No such container: \(ref)")
    }

    /// The container named `name`, if any.
    func nameTaken(_ name: String) -> ContainerEntry? {
        guard let id = names.withLock({ $0[name] }) else { return nil }
        return table.withLock { $0[id] }
    }

    func bundle(_ id: String) -> String { paths.bundles + "/" + id }
    func persistentDirectory(_ id: String) -> String { paths.persistent + "/" + id }

    /// Saves the record; a failure is logged (the in-memory state stays right
    /// and the next change saves it again).
    func persist(_ r: ContainerRecord) {
        do { try store.update(r) } catch { logger.error("cannot save container \(r.shortID): \(error)") }
    }

    func emit(_ action: String, _ r: ContainerRecord, _ extra: [String: String] = [:]) {
        var attrs = r.config.labels ?? [:]
        attrs["name"] = r.name
        attrs["image"] = r.image
        for (k, v) in extra { attrs[k] = v }
        events.emit(action: action, id: r.id, attributes: attrs)
    }

    static func now() -> Int64 {
        let ts = Clock.now()
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func randomID() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 { bytes[i] = UInt8.random(in: 0...255) }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

