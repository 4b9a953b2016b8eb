import FoundationEssentials
import Metadata
import RPC

/// Network records in metadata.db. Schema (component "networks"):
///
///     CREATE TABLE networks (
///         id         TEXT PRIMARY KEY,     -- 64 hex
///         name       TEXT UNIQUE NOT NULL,
///         created_at INTEGER NOT NULL,     -- unix ns
///         record     TEXT NOT NULL)        -- NetworkRecord as JSON
public final class NetworkStore: Sendable {
    let db: Database

    static let migrations = [
        """
        CREATE TABLE networks (
            id TEXT PRIMARY KEY,
            name TEXT UNIQUE NOT NULL,
            created_at INTEGER NOT NULL,
            record TEXT NOT NULL);
        """,
    ]

    public init(db: Database) throws {
        self.db = db
        try db.migrate(component: "networks", Self.migrations)
    }

    public func all() throws -> [NetworkRecord] {
        try db.query("SELECT record FROM networks ORDER BY created_at") { row in
            try JSONDecoder().decode(NetworkRecord.self, from: Data(row.string(0).utf8))
        }
    }

    public func insert(_ r: NetworkRecord) throws {
        do {
            _ = try db.execute("INSERT INTO networks (id, name, created_at, record) VALUES (?1, ?2, ?3, ?4)",
                               [.text(r.id), .text(r.name), .integer(r.created), .text(try Self.json(r))])
        } catch let e as DatabaseError where e.code == .constraint {
            throw BerthError(.conflict, "network with name \(r.name) already exists")
        }
    }

    public func update(_ r: NetworkRecord) throws {
        _ = try db.execute("UPDATE networks SET record = ?2 WHERE id = ?1", [.text(r.id), .text(try Self.json(r))])
    }

    public func delete(_ id: String) throws {
        _ = try db.execute("DELETE FROM networks WHERE id = ?1", [.text(id)])
    }

    static func json(_ r: NetworkRecord) throws -> String {
        String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
    }
}
