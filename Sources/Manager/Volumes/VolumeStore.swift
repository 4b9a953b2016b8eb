import FoundationEssentials
import Metadata
import RPC

/// Volume records in metadata.db. Schema (component "volumes"):
///
///     CREATE TABLE volumes (
///         name       TEXT PRIMARY KEY,
///         created_at INTEGER NOT NULL,     -- unix seconds
///         record     TEXT NOT NULL)        -- VolumeRecord as JSON
public final class VolumeStore: Sendable {
    let db: Database

    static let migrations = [
        """
        CREATE TABLE volumes (
            name TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            record TEXT NOT NULL);
        """,
    ]

    public init(db: Database) throws {
        self.db = db
        try db.migrate(component: "volumes", Self.migrations)
    }

    public func all() throws -> [VolumeRecord] {
        try db.query("SELECT record FROM volumes ORDER BY name") { row in
            try JSONDecoder().decode(VolumeRecord.self, from: Data(row.string(0).utf8))
        }
    }

    public func get(_ name: String) throws -> VolumeRecord? {
        try db.queryFirst("SELECT record FROM volumes WHERE name = ?1", [.text(name)]) { row in
            try JSONDecoder().decode(VolumeRecord.self, from: Data(row.string(0).utf8))
        }
    }

    public func insert(_ r: VolumeRecord) throws {
        do {
            _ = try db.execute("INSERT INTO volumes (name, created_at, record) VALUES (?1, ?2, ?3)",
                               [.text(r.name), .integer(r.createdAt), .text(try Self.json(r))])
        } catch let e as DatabaseError where e.code == .constraint {
            throw BerthError(.conflict, "volume name \(r.name) already exists")
        }
    }

    public func update(_ r: VolumeRecord) throws {
        _ = try db.execute("UPDATE volumes SET record = ?2 WHERE name = ?1", [.text(r.name), .text(try Self.json(r))])
    }

    public func delete(_ name: String) throws {
        _ = try db.execute("DELETE FROM volumes WHERE name = ?1", [.text(name)])
    }

    static func json(_ r: VolumeRecord) throws -> String {
        String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
    }
}
