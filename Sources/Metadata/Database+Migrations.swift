import Glibc

/// Versioned schema per component. Each component (snapshots, images, …) keeps an
/// ordered list of migration scripts next to the code that uses its tables;
/// version N is `steps[N-1]`. Applied versions are recorded in:
///
///     CREATE TABLE schema_migrations (
///         component TEXT NOT NULL,
///         version   INTEGER NOT NULL,   -- 1-based index into the component's list
///         applied   INTEGER NOT NULL,   -- unix seconds
///         PRIMARY KEY (component, version))
///
/// Steps are append-only: never edit a released one, add a new step instead.
extension Database {
    /// Applies the steps of `component` not yet recorded, in order, in one
    /// transaction (all or nothing). Returns how many were applied. Refuses a
    /// database whose recorded version is newer than `steps` knows.
    @discardableResult
    public func migrate(component: String, _ steps: [String]) throws -> Int {
        try transaction { c in
            try c.exec("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    component TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    applied INTEGER NOT NULL,
                    PRIMARY KEY (component, version))
                """)
            let current = try c.queryFirst(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?1",
                [.text(component)]) { $0.int(0) } ?? 0
            guard current <= steps.count else {
                throw DatabaseError(.migration,
                    "schema of \(component) is at version \(current), newer than this program's \(steps.count)")
            }
            for version in stride(from: current + 1, through: steps.count, by: 1) {
                do {
                    try c.exec(steps[version - 1])
                } catch let e as DatabaseError {
                    throw DatabaseError(.migration, "migration \(component) #\(version): \(e.message)", sqliteCode: e.sqliteCode)
                }
                try c.execute("INSERT INTO schema_migrations (component, version, applied) VALUES (?1, ?2, ?3)",
                              .text(component), .integer(Int64(version)), .integer(Int64(time(nil))))
            }
            return steps.count - current
        }
    }

    /// The highest applied version of `component` (0 when none).
    public func schemaVersion(component: String) throws -> Int {
        try withConnection { c in
            let exists = try c.queryFirst(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") { _ in true } ?? false
            guard exists else { return 0 }
            return try c.queryFirst("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?1",
                                    [.text(component)]) { $0.int(0) } ?? 0
        }
    }
}
