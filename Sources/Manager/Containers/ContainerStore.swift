import FoundationEssentials
import Metadata
import RPC

/// Container records in metadata.db. Schema (component "containers"):
///
///     CREATE TABLE containers (
///         id         TEXT PRIMARY KEY,     -- 64 hex
///         name       TEXT UNIQUE NOT NULL,
///         created_at INTEGER NOT NULL,     -- unix ns
///         record     TEXT NOT NULL)        -- ContainerRecord as JSON
///
/// The record is rewritten whole at every change, in one statement: a crash
/// leaves either the old record or the new one.
public final class ContainerStore: Sendable {
    let db: Database

    static let migrations = [
        """
        CREATE TABLE containers (
            id TEXT PRIMARY KEY,
            name TEXT UNIQUE NOT NULL,
            created_at INTEGER NOT NULL,
            record TEXT NOT NULL);
        """,
    ]

    public init(db: Database) throws {
        self.db = db
        try db.migrate(component: "containers", Self.migrations)
    }

    public func all() throws -> [ContainerRecord] {
        try db.query("SELECT record FROM containers ORDER BY created_at") { row in
            try JSONDecoder().decode(ContainerRecord.self, from: Data(row.string(0).utf8))
        }
    }

    /// Inserts a new record; a taken name is a conflict (the caller checks first, this is the race's loser).
    public func insert(_ r: ContainerRecord) throws {
        do {
            _ = try db.execute("INSERT INTO containers (id, name, created_at, record) VALUES (?1, ?2, ?3, ?4)",
                               [.text(r.id), .text(r.name), .integer(r.created), .text(try Self.json(r))])
        } catch let e as DatabaseError where e.code == .constraint {
            throw BerthError(.conflict, "Conflict. The container name \"/\(r.name)\" is already in use.")
        }
    }

    public func update(_ r: ContainerRecord) throws {
        _ = try db.execute("UPDATE containers SET name = ?2, record = ?3 WHERE id = ?1",
                           [.text(r.id), .text(r.name), .text(try Self.json(r))])
    }

    public func delete(_ id: String) throws {
        _ = try db.execute("DELETE FROM containers WHERE id = ?1", [.text(id)])
    }

    static func json(_ r: ContainerRecord) throws -> String {
        String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
    }
}
