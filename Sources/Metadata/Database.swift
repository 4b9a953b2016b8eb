import CSQLite
import Glibc
import Synchronization

/// berthd's metadata store: one SQLite file (`ROOT/metadata.db`) shared by every
/// component, each owning its tables through `migrate(component:_:)`.
///
/// One connection serves the whole process, guarded by a lock: metadata changes
/// are small and SQLite serializes writers anyway, so a pool would buy nothing.
/// The lock is re-entrant per thread, so a closure given a `Connection` may
/// also call `Database` methods without deadlocking (they join its transaction).
public final class Database: @unchecked Sendable {
    public let path: String
    // Guarded by `lock`; touched only between lock() and unlock().
    private let connection: Connection
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    /// The thread holding `lock` (0 when free), for re-entrancy.
    private let owner = Atomic<UInt>(0)

    /// Opens (creating when missing) the database at `path` in WAL mode with
    /// foreign keys enforced and a busy timeout for other processes' writers.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        connection = try Connection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with the connection, holding the lock.
    public func withConnection<T>(_ body: (Connection) throws -> T) rethrows -> T {
        let me = UInt(pthread_self())
        if owner.load(ordering: .relaxed) == me { return try body(connection) }
        pthread_mutex_lock(lock)
        owner.store(me, ordering: .relaxed)
        defer {
            owner.store(0, ordering: .relaxed)
            pthread_mutex_unlock(lock)
        }
        return try body(connection)
    }

    /// Runs `body` in a transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK when it throws).
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { try $0.transaction(body) }
    }

    public func exec(_ sql: String) throws {
        try withConnection { try $0.exec(sql) }
    }

    @discardableResult
    public func execute(_ sql: String, _ values: SQLValue...) throws -> Int {
        try withConnection { try $0.execute(sql, values) }
    }

    @discardableResult
    public func execute(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try withConnection { try $0.execute(sql, values) }
    }

    public func query<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (Row) throws -> T) throws -> [T] {
        try withConnection { try $0.query(sql, values, map) }
    }

    public func queryFirst<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (Row) throws -> T) throws -> T? {
        try withConnection { try $0.queryFirst(sql, values, map) }
    }
}
