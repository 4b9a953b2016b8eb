import FoundationEssentials
import Glibc
import OCI
import RPC
import Snapshots
import Synchronization

/// Named and anonymous volumes of the `local` driver (docs/volumes.md): a
/// record in metadata.db (VolumeStore) and a directory `<root>/volumes/NAME/_data`
/// (Docker's layout). A volume with options (`type`, `device`, `o`) is mounted
/// on `_data` while a running container uses it, as Docker's local driver does.
///
/// Which containers reference a volume is the container service's knowledge;
/// it tells this service through `setUsers`. `lock` serializes what creates,
/// references and removes volumes, so that `volume rm` never removes a volume a
/// container being created is about to reference.
public final class VolumeService: Sendable {
    let directory: String
    let store: VolumeStore
    let logger: Logger
    let lock = Mutex<Void>(())
    private let users = Mutex<(@Sendable (String) -> [String])?>(nil)
    /// Volumes mounted on use: the containers running with each.
    private let active = Mutex<[String: Set<String>]>([:])

    init(directory: String, store: VolumeStore, logger: Logger) {
        self.directory = directory
        self.store = store
        self.logger = logger
    }

    /// The ids of the containers (running or not) that reference volume NAME.
    public func setUsers(_ f: @escaping @Sendable (String) -> [String]) { users.withLock { $0 = f } }
    func users(of name: String) -> [String] { users.withLock { $0 }?(name) ?? [] }

    func path(_ name: String) -> String { directory + "/" + name }
    func dataPath(_ name: String) -> String { path(name) + "/_data" }

    // MARK: Create

    /// Docker's rule for local volume names.
    static func validateName(_ name: String) throws {
        guard BerthAPI.isValidVolumeName(name) else {
            throw BerthError(.invalidArgument, "create \(name): \"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
        }
    }

    /// The local driver's options: `type`, `device`, `o`; a type needs a device and the reverse.
    static func validateOptions(_ opts: [String: String]) throws {
        for key in opts.keys.sorted() where !["type", "device", "o"].contains(key) {
            throw BerthError(.invalidArgument, "create: invalid option: \"\(key)\"")
        }
        if !opts.isEmpty {
            if (opts["type"] ?? "").isEmpty { throw BerthError(.invalidArgument, "create: missing required option: \"type\"") }
            if (opts["device"] ?? "").isEmpty { throw BerthError(.invalidArgument, "create: missing required option: \"device\"") }
        }
    }

    /// `volume create`: an existing volume of that name is returned as it is (Docker's
    /// behaviour). Atomic: a failure leaves neither the directory nor the record.
    public func create(_ p: BerthAPI.VolumeCreateParams) throws -> BerthAPI.Volume {
        try lock.withLock { _ in try view(createLocked(p).record) }
    }

    /// Needs `lock`. Returns the record and whether it was made now.
    func createLocked(_ p: BerthAPI.VolumeCreateParams) throws -> (record: VolumeRecord, created: Bool) {
        let driver = p.driver.flatMap { $0.isEmpty ? nil : $0 } ?? "local"
        guard driver == "local" else {
            throw BerthError(.notFound, "error looking up volume plugin \(driver): plugin \"\(driver)\" not found")
        }
        let anonymous = (p.name ?? "").isEmpty
        let name = anonymous ? Self.randomName() : p.name!
        try Self.validateName(name)
        if let existing = try store.get(name) { return (existing, false) }
        let opts = p.driverOpts ?? [:]
        try Self.validateOptions(opts)
        var labels = p.labels ?? [:]
        if anonymous { labels[VolumeRecord.anonymousLabel] = "" }
        let rec = VolumeRecord(name: name, createdAt: Int64(time(nil)), labels: labels.isEmpty ? (p.labels == nil ? nil : [:]) : labels,
                               options: opts.isEmpty ? nil : opts)
        guard mkdir(path(name), 0o755) == 0 else {
            throw BerthError(.internal, "create \(name): mkdir \(path(name)): \(String(cString: strerror(errno)))")
        }
        do {
            guard mkdir(dataPath(name), 0o755) == 0 else {
                throw BerthError(.internal, "create \(name): mkdir \(dataPath(name)): \(String(cString: strerror(errno)))")
            }
            try store.insert(rec)
        } catch {
            try? FileManager.default.removeItem(atPath: path(name))
            throw error
        }
        return (rec, true)
    }

    static func randomName() -> String {
        var out = ""
        for _ in 0..<32 { let b = UInt8.random(in: 0...255); out += (b < 16 ? "0" : "") + String(b, radix: 16) }
        return out
    }

    // MARK: Queries

    func view(_ r: VolumeRecord) -> BerthAPI.Volume {
        let created = Clock.rfc3339(timespec(tv_sec: Int(r.createdAt), tv_nsec: 0), nanos: false)
        return BerthAPI.Volume(createdAt: created, labels: r.labels, mountpoint: dataPath(r.name), name: r.name, options: r.options)
    }

    func record(_ name: String) throws -> VolumeRecord {
        guard let r = try store.get(name) else { throw BerthError(.notFound, "get \(name): no such volume") }
        return r
    }

    public func inspect(_ name: String) throws -> BerthAPI.Volume { view(try record(name)) }

    /// `volume ls`: dangling (not referenced by any container), name (a substring),
    /// label (KEY or KEY=VALUE, all must match), driver.
    public func list(_ filters: [String: [String]]) throws -> [BerthAPI.Volume] {
        try ListFilters.check(filters, known: ["dangling", "name", "label", "driver"])
        let dangling = try ListFilters.dangling(filters)
        return try store.all().filter { r in
            if let dangling, users(of: r.name).isEmpty != dangling { return false }
            if let names = filters["name"], !names.isEmpty, !names.contains(where: { r.name.contains($0) }) { return false }
            if let drivers = filters["driver"], !drivers.isEmpty, !drivers.contains("local") { return false }
            return ListFilters.labelsMatch(r.labels ?? [:], filters["label"] ?? [])
        }.map(view)
    }

    // MARK: Remove

    /// `volume rm`: refused while a container (running or not) references it.
    public func remove(_ name: String, force: Bool) throws {
        try lock.withLock { _ in
            guard let r = try store.get(name) else {
                if force { return }
                throw BerthError(.notFound, "get \(name): no such volume")
            }
            let ids = users(of: name)
            guard ids.isEmpty else {
                throw BerthError(.conflict, "remove \(name): volume is in use - [\(ids.joined(separator: ", "))]")
            }
            try removeLocked(r)
        }
    }

    /// Needs `lock`. The record goes first: a crash in between leaves a directory
    /// without a record, never a record without its data.
    func removeLocked(_ r: VolumeRecord) throws {
        _ = try? Mount.unmountAll(dataPath(r.name), detach: true)
        try store.delete(r.name)
        _ = active.withLock { $0.removeValue(forKey: r.name) }
        try? FileManager.default.removeItem(atPath: path(r.name))
    }

    /// `volume prune`: unused volumes; only anonymous ones unless `all=true`
    /// (Docker 23+); `label`/`label!` filters.
    public func prune(_ filters: [String: [String]]) throws -> BerthAPI.VolumePruneResult {
        try ListFilters.check(filters, known: ["all", "label", "label!"])
        let all = (filters["all"] ?? []).contains { ["true", "1"].contains($0.lowercased()) }
        return try lock.withLock { _ in
            var deleted: [String] = []
            var reclaimed: Int64 = 0
            for r in try store.all() where users(of: r.name).isEmpty {
                if !all && !r.isAnonymous { continue }
                let labels = r.labels ?? [:]
                if !ListFilters.labelsMatch(labels, filters["label"] ?? []) { continue }
                if let not = filters["label!"], !not.isEmpty, not.contains(where: { ListFilters.labelsMatch(labels, [$0]) }) { continue }
                let size = r.mountsOnUse ? 0 : ((try? FileTree.usage(dataPath(r.name)).size) ?? 0)
                do { try removeLocked(r) } catch {
                    logger.error("volume prune: cannot remove \(r.name): \(error)")
                    continue
                }
                deleted.append(r.name)
                reclaimed += size
            }
            return BerthAPI.VolumePruneResult(volumesDeleted: deleted, spaceReclaimed: reclaimed)
        }
    }

    // MARK: Use by containers

    /// A container starts with volume NAME: a volume with options is mounted on
    /// `_data` unless it already is. Returns the host path to bind into the container.
    func acquire(_ name: String, container: String) throws -> String {
        let r = try record(name)
        let data = dataPath(name)
        try active.withLock { act in
            if r.mountsOnUse && !MountTable.isMountPoint(data) {
                let o = (r.options?["o"] ?? "").split(separator: ",").map(String.init)
                let type = r.options?["type"] ?? ""
                let m = type == "none" || o.contains("bind") || o.contains("rbind")
                    ? Snapshots.Mount(type: "bind", source: r.options?["device"] ?? "", options: o.contains("rbind") ? o : ["bind"] + o.filter { $0 != "bind" })
                    : Snapshots.Mount(type: type, source: r.options?["device"] ?? "", options: o)
                do { try m.mount(at: data) } catch {
                    throw BerthError(.internal, "error while mounting volume '\(data)': failed to mount local volume: \(error)")
                }
            }
            act[name, default: []].insert(container)
        }
        return data
    }

    /// The container stopped using volume NAME: the last one out unmounts it.
    func release(_ name: String, container: String) {
        active.withLock { act in
            act[name]?.remove(container)
            guard act[name]?.isEmpty ?? true else { return }
            act[name] = nil
            if (try? store.get(name))??.mountsOnUse == true {
                _ = try? Mount.unmountAll(dataPath(name), detach: true)
            }
        }
    }

    /// The volume was filled from an image once.
    func markCopiedUp(_ name: String) {
        guard var r = try? store.get(name) else { return }
        r.copiedUp = true
        do { try store.update(r) } catch { logger.error("cannot save volume \(name): \(error)") }
    }
}
