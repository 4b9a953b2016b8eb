import CSQLite

/// One open SQLite connection. `Database` hands it to closures while holding its
/// lock; it is never used from two threads at once and must not escape the closure.
public final class Connection {
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    /// How many `transaction` calls are open: the outermost uses BEGIN IMMEDIATE,
    /// nested ones use savepoints so an inner failure undoes only the inner part.
    private var depth = 0

    init(path: String, busyTimeoutMilliseconds: Int32) throws {
        var db: OpaquePointer?
        // NOMUTEX: the Database lock already serializes every use of this connection.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let e = DatabaseError.sqlite(db, rc, doing: "open \(path)")
            if let db { sqlite3_close_v2(db) }
            throw DatabaseError(.open, e.message, sqliteCode: rc)
        }
        handle = db
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        do {
            // WAL: readers never block the writer and a commit is one append (fast, crash-safe);
            // synchronous=NORMAL is durable across process crashes in WAL mode, and loses at
            // most the last commits on power loss, never consistency.
            try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
        } catch let e as DatabaseError {
            sqlite3_close_v2(db)
            throw DatabaseError(.open, "configure \(path): \(e.message)", sqliteCode: e.sqliteCode)
        }
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without parameters (schema changes, pragmas).
    public func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        guard rc == SQLITE_OK else {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(err)
            var e = DatabaseError.sqlite(handle, rc, doing: sql)
            e = DatabaseError(e.code, "\(sql): \(msg)", sqliteCode: rc)
            throw e
        }
    }

    /// A prepared statement for `sql`, compiled once per connection and reused.
    public func prepare(_ sql: String) throws -> Statement {
        if let s = statements[sql] { return s }
        let s = try Statement(connection: self, sql: sql)
        statements[sql] = s
        return s
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ values: SQLValue...) throws -> Int {
        try execute(sql, values)
    }

    @discardableResult
    public func execute(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let s = try prepare(sql)
        try s.bind(values)
        defer { s.reset() }
        while try s.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query and maps every row.
    public func query<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (Row) throws -> T) throws -> [T] {
        let s = try prepare(sql)
        try s.bind(values)
        defer { s.reset() }
        var out: [T] = []
        while try s.step() { out.append(try map(s.row)) }
        return out
    }

    /// The first row of a query, or nil when it returns none.
    public func queryFirst<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (Row) throws -> T) throws -> T? {
        let s = try prepare(sql)
        try s.bind(values)
        defer { s.reset() }
        return try s.step() ? map(s.row) : nil
    }

    /// The rowid of the last INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// The outermost level takes the write lock at once (BEGIN IMMEDIATE) so that two
    /// writers never deadlock upgrading read locks; nested calls are savepoints.
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        let savepoint = "sp\(depth)"
        try exec(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT \(savepoint)")
        depth += 1
        let result: T
        do {
            result = try body(self)
        } catch {
            depth -= 1
            if depth == 0 {
                try? exec("ROLLBACK")
            } else {
                try? exec("ROLLBACK TO \(savepoint); RELEASE \(savepoint)")
            }
            throw error
        }
        depth -= 1
        do {
            try exec(depth == 0 ? "COMMIT" : "RELEASE \(savepoint)")
        } catch {
            if depth == 0 { try? exec("ROLLBACK") }
            throw error
        }
        return result
    }

    /// True while a `transaction` is open on this connection.
    public var inTransaction: Bool { depth > 0 }
}
