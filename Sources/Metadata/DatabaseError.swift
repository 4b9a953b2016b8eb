import CSQLite

/// What went wrong in the metadata database, with SQLite's own message.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// The file could not be opened or configured.
        case open
        /// A statement failed to compile (a bug in the SQL).
        case prepare
        /// A UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint refused a change.
        case constraint
        /// Another connection held the database past the busy timeout.
        case busy
        /// A statement failed while it ran.
        case step
        /// The schema recorded in the file is newer than this program, or a migration failed.
        case migration
    }

    public let code: Code
    /// SQLite's extended result code (0 when the error is not SQLite's).
    public let sqliteCode: Int32
    public let message: String

    public init(_ code: Code, _ message: String, sqliteCode: Int32 = 0) {
        self.code = code
        self.message = message
        self.sqliteCode = sqliteCode
    }

    public var description: String { message }

    /// An error for result `rc` of `handle`, naming what was being done.
    static func sqlite(_ handle: OpaquePointer?, _ rc: Int32, doing what: String) -> DatabaseError {
        let detail = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(rc))
        let code: Code
        switch rc & 0xff {
        case SQLITE_CONSTRAINT: code = .constraint
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        default: code = .step
        }
        return DatabaseError(code, "\(what): \(detail)", sqliteCode: rc)
    }
}
