import Metadata

/// Leases keep content and snapshots alive while an operation that is not
/// yet recorded as an image (a pull, a load) builds them: the garbage
/// collector treats every resource of an unexpired lease as a root. A pull
/// killed halfway leaves its lease behind; once it expires, what it held is
/// collected (containerd's model). Schema (component "leases"):
///
///     CREATE TABLE leases (
///         id         TEXT PRIMARY KEY,
///         created_at INTEGER NOT NULL,   -- unix ns
///         expires_at INTEGER NOT NULL)   -- unix ns
///     CREATE TABLE lease_resources (
///         lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
///         kind     TEXT NOT NULL,        -- "content" (a digest) or "snapshot" (a key)
///         key      TEXT NOT NULL,
///         PRIMARY KEY (lease_id, kind, key))
public final class LeaseStore: Sendable {
    let db: Database

    public enum Kind: String, Sendable { case content, snapshot }

    static let migrations = [
        """
        CREATE TABLE leases (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL);
        CREATE TABLE lease_resources (
            lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (lease_id, kind, key));
        """,
    ]

    public init(db: Database) throws {
        self.db = db
        try db.migrate(component: "leases", Self.migrations)
    }

    public func create(id: String, now: Int64, ttlNanos: Int64) throws {
        try db.execute("INSERT INTO leases (id, created_at, expires_at) VALUES (?1, ?2, ?3)",
                       [.text(id), .integer(now), .integer(now + ttlNanos)])
    }

    public func add(_ lease: String, _ kind: Kind, _ key: String) throws {
        try db.execute("INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?1, ?2, ?3)",
                       [.text(lease), .text(kind.rawValue), .text(key)])
    }

    public func delete(_ lease: String) throws {
        try db.execute("DELETE FROM leases WHERE id = ?1", [.text(lease)])
    }

    /// Drops expired leases; returns how many.
    @discardableResult
    public func expire(now: Int64) throws -> Int {
        try db.execute("DELETE FROM leases WHERE expires_at <= ?1", [.integer(now)])
    }

    /// Resources held by unexpired leases.
    public func held(_ kind: Kind, now: Int64) throws -> Set<String> {
        Set(try db.query("""
            SELECT r.key FROM lease_resources r JOIN leases l ON l.id = r.lease_id
            WHERE r.kind = ?1 AND l.expires_at > ?2
            """, [.text(kind.rawValue), .integer(now)]) { $0.string(0) })
    }

    public func count() throws -> Int {
        try db.queryFirst("SELECT COUNT(*) FROM leases") { $0.int(0) } ?? 0
    }
}
