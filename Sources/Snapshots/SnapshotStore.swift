import FoundationEssentials
import Glibc
import Metadata

/// The records of one snapshotter in the metadata database, and the lifecycle
/// both implementations share: a new snapshot's directory is filled under a
/// temporary name (`new-XXXXXX`) and renamed to its id inside the transaction
/// that inserts its record, a removed one is renamed to `removed-<id>` in the
/// transaction that deletes its record and then deleted; whatever a crash
/// leaves behind is swept when the snapshotter is opened.
///
/// Schema (component "snapshots"; defined here, documented in docs/snapshots-and-unpack.md):
///
///     snapshots(id INTEGER PRIMARY KEY AUTOINCREMENT,   -- the directory name <n>
///               snapshotter TEXT, key TEXT, kind TEXT,  -- active | view | committed
///               parent INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
///               created INTEGER, updated INTEGER,       -- unix nanoseconds
///               size INTEGER, inodes INTEGER,           -- usage measured at commit
///               UNIQUE (snapshotter, key))
///     snapshot_labels(snapshot INTEGER REFERENCES snapshots(id) ON DELETE CASCADE,
///                     name TEXT, value TEXT, PRIMARY KEY (snapshot, name))
final class SnapshotStore: Sendable {
    static let migrations = [
        """
        CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            snapshotter TEXT NOT NULL,
            key TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
            parent INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            size INTEGER,
            inodes INTEGER,
            UNIQUE (snapshotter, key));
        CREATE INDEX snapshots_parent ON snapshots(parent);
        CREATE TABLE snapshot_labels (
            snapshot INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (snapshot, name));
        """,
    ]

    struct Record: Sendable {
        let id: Int64
        let key: String
        let kind: SnapshotKind
        let parentID: Int64?
        let parentKey: String?
        let created: Int64
        let updated: Int64
        let usage: SnapshotUsage?
    }

    let database: Database
    let snapshotter: String
    /// ROOT/snapshots/<snapshotter>
    let directory: String

    init(database: Database, snapshotter: String, directory: String) throws {
        self.database = database
        self.snapshotter = snapshotter
        self.directory = directory
        do {
            try database.migrate(component: "snapshots", SnapshotStore.migrations)
        } catch let e as DatabaseError {
            throw SnapshotError(.system, "snapshot records: \(e.message)")
        }
        try FileTree.makeDirectories(directory, mode: 0o700)
        try sweep()
    }

    func path(_ id: Int64) -> String { directory + "/\(id)" }

    // MARK: reads

    private static let select = """
        SELECT s.id, s.key, s.kind, s.parent, p.key, s.created, s.updated, s.size, s.inodes
        FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent
        """

    private static func record(_ r: Row) -> Record {
        Record(id: r.int64(0), key: r.string(1), kind: SnapshotKind(rawValue: r.string(2)) ?? .active,
               parentID: r.optionalInt64(3), parentKey: r.optionalString(4), created: r.int64(5), updated: r.int64(6),
               usage: r.isNull(7) ? nil : SnapshotUsage(size: r.int64(7), inodes: r.int64(8)))
    }

    func find(_ c: Connection, _ key: String) throws -> Record? {
        try c.queryFirst(SnapshotStore.select + " WHERE s.snapshotter = ?1 AND s.key = ?2",
                         [.text(snapshotter), .text(key)], SnapshotStore.record)
    }

    func get(_ c: Connection, _ key: String) throws -> Record {
        guard let r = try find(c, key) else { throw SnapshotError(.notFound, "snapshot \(key) does not exist") }
        return r
    }

    func get(_ key: String) throws -> Record { try run { try get($0, key) } }

    /// `id` and its ancestors, nearest first.
    func chain(_ c: Connection, from id: Int64) throws -> [Int64] {
        try c.query("""
            WITH RECURSIVE chain(id, parent, depth) AS (
                SELECT id, parent, 0 FROM snapshots WHERE id = ?1
                UNION ALL
                SELECT s.id, s.parent, chain.depth + 1 FROM snapshots s JOIN chain ON s.id = chain.parent)
            SELECT id FROM chain ORDER BY depth
            """, [.integer(id)]) { $0.int64(0) }
    }

    /// The ancestors of `record`, nearest first (empty without a parent).
    func parents(of record: Record) throws -> [Int64] {
        guard let p = record.parentID else { return [] }
        return try run { try chain($0, from: p) }
    }

    func labels(_ c: Connection, _ id: Int64) throws -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in try c.query("SELECT name, value FROM snapshot_labels WHERE snapshot = ?1", [.integer(id)], {
            ($0.string(0), $0.string(1))
        }) { out[k] = v }
        return out
    }

    func info(_ c: Connection, _ r: Record) throws -> SnapshotInfo {
        SnapshotInfo(name: r.key, kind: r.kind, parent: r.parentKey, labels: try labels(c, r.id),
                     created: Date(nanoseconds: r.created), updated: Date(nanoseconds: r.updated))
    }

    func stat(_ key: String) throws -> SnapshotInfo {
        try run { c in try info(c, try get(c, key)) }
    }

    func all() throws -> [SnapshotInfo] {
        try run { c in
            try c.query(SnapshotStore.select + " WHERE s.snapshotter = ?1 ORDER BY s.id", [.text(snapshotter)],
                        SnapshotStore.record).map { try info(c, $0) }
        }
    }

    // MARK: changes

    /// Creates a snapshot: checks the parent, fills a temporary directory with
    /// `populate(temporaryDirectory, parentChain)`, then records it and renames
    /// the directory to its id in one transaction. Nothing is left on failure.
    func create(_ kind: SnapshotKind, key: String, parent: String?, labels: [String: String],
                populate: (String, [Int64]) throws -> Void) throws -> (Record, [Int64]) {
        guard !key.isEmpty else { throw SnapshotError(.invalidArgument, "a snapshot key must not be empty") }
        let parentChain: [Int64] = try run { c in
            if try find(c, key) != nil { throw SnapshotError(.alreadyExists, "snapshot \(key) already exists") }
            guard let parent else { return [] }
            guard let p = try find(c, parent) else { throw SnapshotError(.notFound, "parent snapshot \(parent) does not exist") }
            guard p.kind == .committed else {
                throw SnapshotError(.failedPrecondition, "parent snapshot \(parent) is \(p.kind.rawValue), not committed")
            }
            return try chain(c, from: p.id)
        }
        let temporary = try FileTree.makeTemporaryDirectory(in: directory, prefix: "new-")
        do {
            try populate(temporary, parentChain)
            let record = try run { c in
                try c.transaction { c in
                    // The parent may have been removed while the directory was filled.
                    if let parent, try find(c, parent)?.id != parentChain.first {
                        throw SnapshotError(.notFound, "parent snapshot \(parent) does not exist")
                    }
                    let now = Date.nowNanoseconds
                    do {
                        try c.execute("""
                            INSERT INTO snapshots (snapshotter, key, kind, parent, created, updated)
                            VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                            """, .text(snapshotter), .text(key), .text(kind.rawValue), SQLValue(parentChain.first), .integer(now))
                    } catch let e as DatabaseError where e.code == .constraint {
                        throw SnapshotError(.alreadyExists, "snapshot \(key) already exists")
                    }
                    let id = c.lastInsertRowID
                    try setLabels(c, id, labels)
                    guard rename(temporary, path(id)) == 0 else {
                        throw SnapshotError.errno("rename \(temporary) to \(path(id))")
                    }
                    return try get(c, key)
                }
            }
            return (record, parentChain)
        } catch {
            try? FileTree.remove(temporary)
            throw error
        }
    }

    /// Active `key` becomes committed `name` with `usage` recorded.
    func commit(_ name: String, key: String, labels: [String: String], measure: (Record) throws -> SnapshotUsage) throws {
        guard !name.isEmpty else { throw SnapshotError(.invalidArgument, "a snapshot name must not be empty") }
        let record = try get(key)
        guard record.kind == .active else {
            throw SnapshotError(.failedPrecondition, "snapshot \(key) is \(record.kind.rawValue); only active snapshots can be committed")
        }
        let usage = try measure(record)
        try run { c in
            try c.transaction { c in
                guard let again = try find(c, key), again.id == record.id, again.kind == .active else {
                    throw SnapshotError(.notFound, "snapshot \(key) does not exist")
                }
                if try find(c, name) != nil { throw SnapshotError(.alreadyExists, "snapshot \(name) already exists") }
                try c.execute("UPDATE snapshots SET key = ?1, kind = 'committed', size = ?2, inodes = ?3, updated = ?4 WHERE id = ?5",
                              .text(name), .integer(usage.size), .integer(usage.inodes), .integer(Date.nowNanoseconds), .integer(record.id))
                var merged = try self.labels(c, record.id)
                merged.merge(labels) { $1 }
                try setLabels(c, record.id, merged)
            }
        }
    }

    func update(_ key: String, labels: [String: String]) throws -> SnapshotInfo {
        try run { c in
            try c.transaction { c in
                let r = try get(c, key)
                try setLabels(c, r.id, labels)
                try c.execute("UPDATE snapshots SET updated = ?1 WHERE id = ?2", .integer(Date.nowNanoseconds), .integer(r.id))
                return try info(c, try get(c, key))
            }
        }
    }

    /// Deletes the record and the directory of `key`; refused while it has children.
    func remove(_ key: String) throws {
        let trash: String = try run { c in
            try c.transaction { c in
                let r = try get(c, key)
                let children = try c.query("SELECT key FROM snapshots WHERE parent = ?1 ORDER BY id", [.integer(r.id)]) { $0.string(0) }
                guard children.isEmpty else {
                    throw SnapshotError(.failedPrecondition,
                        "snapshot \(key) has \(children.count) child snapshot\(children.count == 1 ? "" : "s") (\(children.prefix(3).joined(separator: ", "))); remove them first")
                }
                try c.execute("DELETE FROM snapshots WHERE id = ?1", .integer(r.id))
                let trash = directory + "/removed-\(r.id)"
                if rename(path(r.id), trash) != 0 && errno != ENOENT {
                    throw SnapshotError.errno("rename \(path(r.id)) to \(trash)")
                }
                return trash
            }
        }
        try FileTree.remove(trash)
    }

    private func setLabels(_ c: Connection, _ id: Int64, _ labels: [String: String]) throws {
        try c.execute("DELETE FROM snapshot_labels WHERE snapshot = ?1", .integer(id))
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) {
            try c.execute("INSERT INTO snapshot_labels (snapshot, name, value) VALUES (?1, ?2, ?3)", .integer(id), .text(k), .text(v))
        }
    }

    /// Removes directories with no record: temporary ones of an interrupted
    /// prepare, trash of an interrupted remove, ids whose insert was rolled back.
    func sweep() throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError.errno("open \(directory)") }
        defer { close(fd) }
        let known = Set(try run { c in
            try c.query("SELECT id FROM snapshots WHERE snapshotter = ?1", [.text(snapshotter)]) { String($0.int64(0)) }
        })
        for name in try FileTree.names(inDirectory: fd) where !known.contains(name) {
            if name.hasPrefix("new-") || name.hasPrefix("removed-") || Int64(name) != nil {
                try FileTree.remove(directory + "/" + name)
            }
        }
    }

    /// Runs `body` with the connection, turning database errors into snapshot errors.
    func run<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try database.withConnection(body)
        } catch let e as DatabaseError {
            throw SnapshotError(.system, "snapshot records: \(e.message)")
        }
    }
}

extension Date {
    init(nanoseconds: Int64) {
        self.init(timeIntervalSince1970: Double(nanoseconds) / 1e9)
    }

    static var nowNanoseconds: Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
