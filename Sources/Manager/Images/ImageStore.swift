import Content
import FoundationEssentials
import Metadata
import RPC

/// Image records in metadata.db. Schema (component "images"):
///
///     CREATE TABLE images (
///         id                INTEGER PRIMARY KEY,
///         name              TEXT UNIQUE,          -- normalized reference; NULL = dangling
///         target_media_type TEXT NOT NULL,
///         target_digest     TEXT NOT NULL,
///         target_size       INTEGER NOT NULL,
///         config_digest     TEXT NOT NULL,        -- Docker's image id
///         created_at        INTEGER NOT NULL,     -- unix ns
///         updated_at        INTEGER NOT NULL,
///         labels            TEXT NOT NULL)        -- JSON object
///
/// A dangling record is unique per target digest (one `<none>:<none>` per image).
public final class ImageStore: Sendable {
    let db: Database

    static let migrations = [
        """
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            name TEXT UNIQUE,
            target_media_type TEXT NOT NULL,
            target_digest TEXT NOT NULL,
            target_size INTEGER NOT NULL,
            config_digest TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            labels TEXT NOT NULL);
        CREATE INDEX images_config ON images(config_digest);
        CREATE INDEX images_target ON images(target_digest);
        """,
    ]

    public init(db: Database) throws {
        self.db = db
        try db.migrate(component: "images", Self.migrations)
    }

    static let columns = "name, target_media_type, target_digest, target_size, config_digest, created_at, updated_at, labels"

    static func record(_ r: Row) throws -> ImageRecord {
        guard let target = Digest(r.string(2)), let config = Digest(r.string(4)) else {
            throw BerthError(.internal, "metadata.db holds an invalid digest for image \(r.optionalString(0) ?? "<none>")")
        }
        let labels = (try? JSONDecoder().decode([String: String].self, from: Data(r.string(7).utf8))) ?? [:]
        return ImageRecord(name: r.optionalString(0), target: Descriptor(mediaType: r.string(1), digest: target, size: r.int64(3)),
                           configDigest: config, createdAt: r.int64(5), updatedAt: r.int64(6), labels: labels)
    }

    static func labelsJSON(_ labels: [String: String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        return (try? enc.encode(labels)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public func all() throws -> [ImageRecord] {
        try db.query("SELECT \(Self.columns) FROM images ORDER BY created_at DESC, id DESC") { try Self.record($0) }
    }

    public func get(name: String) throws -> ImageRecord? {
        try db.queryFirst("SELECT \(Self.columns) FROM images WHERE name = ?1", [.text(name)]) { try Self.record($0) }
    }

    /// Names (or dangling records) whose image id is `config`.
    public func withConfig(_ config: Digest) throws -> [ImageRecord] {
        try db.query("SELECT \(Self.columns) FROM images WHERE config_digest = ?1 ORDER BY name", [.text(config.description)]) {
            try Self.record($0)
        }
    }

    /// Points `record.name` at its target. When the name pointed at another
    /// image that no other name keeps, that image stays as a dangling record
    /// (Docker's behaviour when a newer pull takes the tag). Returns the
    /// previous record of the name, if any.
    @discardableResult
    public func put(_ record: ImageRecord) throws -> ImageRecord? {
        guard let name = record.name else { throw BerthError(.invalidArgument, "an image record needs a name") }
        return try db.transaction { c in
            let old = try c.queryFirst("SELECT \(Self.columns) FROM images WHERE name = ?1", [.text(name)]) { try Self.record($0) }
            // The same target and the same image (an index can give another platform's image).
            if let old, old.target.digest == record.target.digest, old.configDigest == record.configDigest {
                let labels = old.labels.merging(record.labels) { _, new in new }
                try c.execute("UPDATE images SET updated_at = ?2, labels = ?3 WHERE name = ?1",
                              [.text(name), .integer(record.updatedAt), .text(Self.labelsJSON(labels))])
                return old
            }
            try c.execute("DELETE FROM images WHERE name = ?1", [.text(name)])
            // The new image replaces a dangling record of the same image, if any.
            try c.execute("DELETE FROM images WHERE name IS NULL AND target_digest = ?1 AND config_digest = ?2",
                          [.text(record.target.digest.description), .text(record.configDigest.description)])
            try Self.insert(c, record)
            if let old {
                let kept = try c.queryFirst("SELECT 1 FROM images WHERE target_digest = ?1 AND config_digest = ?2",
                                            [.text(old.target.digest.description), .text(old.configDigest.description)]) { _ in true } ?? false
                if !kept {
                    var dangling = old
                    dangling.name = nil
                    try Self.insert(c, dangling)
                }
            }
            return old
        }
    }

    static func insert(_ c: Connection, _ r: ImageRecord) throws {
        try c.execute("INSERT INTO images (\(columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", [
            SQLValue(r.name), .text(r.target.mediaType), .text(r.target.digest.description), .integer(r.target.size),
            .text(r.configDigest.description), .integer(r.createdAt), .integer(r.updatedAt), .text(labelsJSON(r.labels)),
        ])
    }

    /// Records an image that has no name (docker load of an untagged image),
    /// unless a record of the same image id exists already.
    public func putDangling(_ record: ImageRecord) throws {
        var r = record
        r.name = nil
        try db.transaction { c in
            let known = try c.queryFirst("SELECT 1 FROM images WHERE config_digest = ?1", [.text(r.configDigest.description)]) { _ in true } ?? false
            if !known { try Self.insert(c, r) }
        }
    }

    /// Removes the name; true when it existed.
    @discardableResult
    public func remove(name: String) throws -> Bool {
        try db.execute("DELETE FROM images WHERE name = ?1", [.text(name)]) > 0
    }

    /// Removes every record (named or dangling) of image id `config`; returns them.
    public func remove(config: Digest) throws -> [ImageRecord] {
        try db.transaction { c in
            let gone = try c.query("SELECT \(Self.columns) FROM images WHERE config_digest = ?1", [.text(config.description)]) {
                try Self.record($0)
            }
            try c.execute("DELETE FROM images WHERE config_digest = ?1", [.text(config.description)])
            return gone
        }
    }
}
