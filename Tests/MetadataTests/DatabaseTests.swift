import Glibc
import Metadata
import Testing

/// A fresh database file in its own temporary directory.
private func scratchDatabase() throws -> (Database, String) {
    var template = Array("/tmp/berth-db-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return (try Database(path: dir + "/metadata.db"), dir)
}

private func removeTree(_ dir: String) { _ = system("rm -rf '\(dir)'") }

@Suite struct DatabaseTests {
    @Test func opensInWALModeWithForeignKeys() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        #expect(try db.queryFirst("PRAGMA journal_mode") { $0.string(0) } == "wal")
        #expect(try db.queryFirst("PRAGMA foreign_keys") { $0.int(0) } == 1)
    }

    @Test func typedBindAndColumns() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        try db.execute("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
                       .integer(Int64.max), .real(2.5), .text("héllo ✓"), .blob([0, 1, 255]), .null)
        let row = try db.queryFirst("SELECT i, r, s, b, n FROM t") { r in
            (r.int64(0), r.double(1), r.string(2), r.blob(3), r.optionalString(4), r.isNull(4))
        }
        #expect(row?.0 == Int64.max)
        #expect(row?.1 == 2.5)
        #expect(row?.2 == "héllo ✓")
        #expect(row?.3 == [0, 1, 255])
        #expect(row?.4 == nil)
        #expect(row?.5 == true)
        #expect(try db.queryFirst("SELECT s FROM t WHERE i = 0") { $0.string(0) } == nil)
    }

    @Test func wrongParameterCountIsAnError() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.exec("CREATE TABLE t (a)")
        #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO t VALUES (?1)") }
        #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO nowhere VALUES (1)") }
    }

    @Test func migrationsRunOnceAndInOrder() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        let v1 = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a VALUES (1, 'one')"]
        #expect(try db.migrate(component: "alpha", v1) == 2)
        #expect(try db.migrate(component: "alpha", v1) == 0)
        #expect(try db.schemaVersion(component: "alpha") == 2)
        // A third step later: only it runs; the row from step 2 exists once.
        #expect(try db.migrate(component: "alpha", v1 + ["INSERT INTO a VALUES (2, 'two')"]) == 1)
        #expect(try db.query("SELECT x FROM a ORDER BY x") { $0.int(0) } == [1, 2])
        // Components are independent.
        #expect(try db.migrate(component: "beta", ["CREATE TABLE b (z)"]) == 1)
        #expect(try db.query("SELECT component, version FROM schema_migrations ORDER BY component, version") {
            "\($0.string(0))/\($0.int(1))"
        } == ["alpha/1", "alpha/2", "alpha/3", "beta/1"])
        // Reopening keeps the record.
        let again = try Database(path: dir + "/metadata.db")
        #expect(try again.migrate(component: "alpha", v1 + ["INSERT INTO a VALUES (2, 'two')"]) == 0)
    }

    @Test func failedMigrationLeavesNothing() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        #expect(throws: DatabaseError.self) {
            try db.migrate(component: "c", ["CREATE TABLE c1 (x)", "THIS IS NOT SQL"])
        }
        #expect(try db.schemaVersion(component: "c") == 0)
        #expect(try db.queryFirst("SELECT name FROM sqlite_master WHERE name = 'c1'") { $0.string(0) } == nil)
    }

    @Test func newerSchemaIsRefused() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.migrate(component: "d", ["CREATE TABLE d1 (x)", "CREATE TABLE d2 (x)"])
        let error = #expect(throws: DatabaseError.self) { try db.migrate(component: "d", ["CREATE TABLE d1 (x)"]) }
        #expect(error?.code == .migration)
    }

    @Test func transactionsRollBackOnError() throws {
        struct Boom: Error {}
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)")
        #expect(throws: Boom.self) {
            try db.transaction { c in
                try c.execute("INSERT INTO t VALUES ('a')")
                throw Boom()
            }
        }
        #expect(try db.query("SELECT k FROM t") { $0.string(0) } == [])
        // A constraint failure inside rolls back the earlier statements too.
        let error = #expect(throws: DatabaseError.self) {
            try db.transaction { c in
                try c.execute("INSERT INTO t VALUES ('b')")
                try c.execute("INSERT INTO t VALUES ('b')")
            }
        }
        #expect(error?.code == .constraint)
        #expect(try db.query("SELECT k FROM t") { $0.string(0) } == [])
        // Nested: the inner failure undoes only the inner part.
        try db.transaction { c in
            try c.execute("INSERT INTO t VALUES ('outer')")
            _ = try? c.transaction { c2 in
                try c2.execute("INSERT INTO t VALUES ('inner')")
                throw Boom()
            }
            // Re-entrant: Database methods inside a transaction join it instead of deadlocking.
            try db.execute("INSERT INTO t VALUES ('reentrant')")
        }
        #expect(try db.query("SELECT k FROM t ORDER BY k") { $0.string(0) } == ["outer", "reentrant"])
    }

    @Test func foreignKeysAreEnforced() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.exec("CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE ch (p INTEGER REFERENCES p(id))")
        let error = #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO ch VALUES (42)") }
        #expect(error?.code == .constraint)
    }

    @Test func concurrentWritersFromSeveralThreads() async throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.migrate(component: "counter", ["CREATE TABLE n (v INTEGER NOT NULL); INSERT INTO n VALUES (0)",
                                                "CREATE TABLE log (who INTEGER, i INTEGER)"])
        let threads = 8, rounds = 200
        await withTaskGroup(of: Void.self) { group in
            for who in 0..<threads {
                group.addTask {
                    for i in 0..<rounds {
                        // Read-modify-write: only correct if transactions are serialized.
                        try? db.transaction { c in
                            let v = try c.queryFirst("SELECT v FROM n") { $0.int64(0) } ?? 0
                            try c.execute("UPDATE n SET v = ?1", .integer(v + 1))
                            try c.execute("INSERT INTO log VALUES (?1, ?2)", .integer(Int64(who)), .integer(Int64(i)))
                        }
                    }
                }
            }
        }
        #expect(try db.queryFirst("SELECT v FROM n") { $0.int(0) } == threads * rounds)
        #expect(try db.queryFirst("SELECT COUNT(*) FROM log") { $0.int(0) } == threads * rounds)
    }

    @Test func twoConnectionsOnOneFileWaitForEachOther() throws {
        let (db, dir) = try scratchDatabase()
        defer { removeTree(dir) }
        try db.exec("CREATE TABLE t (v)")
        let other = try Database(path: dir + "/metadata.db", busyTimeoutMilliseconds: 2000)
        try db.transaction { c in
            try c.execute("INSERT INTO t VALUES (1)")
            // The other connection reads the last committed state (WAL) while we write.
            #expect(try other.queryFirst("SELECT COUNT(*) FROM t") { $0.int(0) } == 0)
        }
        #expect(try other.queryFirst("SELECT COUNT(*) FROM t") { $0.int(0) } == 1)
    }
}
