import FoundationEssentials
import Metadata
import RPC

/// A record berthd keeps in metadata.db under a 64-hex id and a unique name.
public protocol NamedRecord: Codable, Sendable {
    var id: String { get }
    var name: String { get }
    /// Unix nanoseconds: the listing order.
    var created: Int64 { get }
}

/// One table of named records (containers, networks). Schema, for TABLE:
///
///     CREATE TABLE TABLE (
///         id         TEXT PRIMARY KEY,     -- 64 hex
///         name       TEXT UNIQUE NOT NULL,
///         created_at INTEGER NOT NULL,     -- unix ns
///         record     TEXT NOT NULL)        -- the record as JSON
///
/// A record is rewritten whole at every change, in one statement: a crash
/// leaves either the old record or the new one.
public final class NamedRecordTable<Record: NamedRecord>: Sendable {
    let db: Database
    let table: String
    /// The error for a taken name (the caller checks first; this is the race's loser).
    let nameTaken: @Sendable (String) -> BerthError

    /// Opens TABLE, made by metadata.db's migrations under the component of the same name.
    init(db: Database, table: String, nameTaken: @escaping @Sendable (String) -> BerthError) throws {
        self.db = db
        self.table = table
        self.nameTaken = nameTaken
        try db.migrate(component: table, [
            """
            CREATE TABLE \(table) (
                id TEXT PRIMARY KEY,
                name TEXT UNIQUE NOT NULL,
                created_at INTEGER NOT NULL,
                record TEXT NOT NULL);
            """,
        ])
    }

    public func all() throws -> [Record] {
        try db.query("SELECT record FROM \(table) ORDER BY created_at") { row in
            try JSONDecoder().decode(Record.self, from: Data(row.string(0).utf8))
        }
    }

    public func insert(_ r: Record) throws {
        do {
            _ = try db.execute("INSERT INTO \(table) (id, name, created_at, record) VALUES (?1, ?2, ?3, ?4)",
                               [.text(r.id), .text(r.name), .integer(r.created), .text(try Self.json(r))])
        } catch let e as DatabaseError where e.code == .constraint {
            throw nameTaken(r.name)
        }
    }

    public func update(_ r: Record) throws {
        _ = try db.execute("UPDATE \(table) SET name = ?2, record = ?3 WHERE id = ?1", [.text(r.id), .text(r.name), .text(try Self.json(r))])
    }

    public func delete(_ id: String) throws {
        _ = try db.execute("DELETE FROM \(table) WHERE id = ?1", [.text(id)])
    }

    static func json(_ r: Record) throws -> String {
        String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
    }
}

/// Container records (ContainerRecord), table "containers".
public typealias ContainerStore = NamedRecordTable<ContainerRecord>
/// Network records (NetworkRecord), table "networks".
public typealias NetworkStore = NamedRecordTable<NetworkRecord>

extension ContainerRecord: NamedRecord {}
extension NetworkRecord: NamedRecord {}

extension NamedRecordTable where Record == ContainerRecord {
    public convenience init(db: Database) throws {
        try self.init(db: db, table: "containers") { BerthError(.conflict, "Conflict. The container name \"/\($0)\" is already in use.") }
    }
}

extension NamedRecordTable where Record == NetworkRecord {
    public convenience init(db: Database) throws {
        try self.init(db: db, table: "networks") { BerthError(.conflict, "network with name \($0) already exists") }
    }
}
