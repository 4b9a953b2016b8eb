import Glibc

/// Errors of the snapshotters, each naming the snapshot and what is wrong.
/// `code` maps onto the API's error codes (not found, conflict, …).
public struct SnapshotError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// No snapshot with that key.
        case notFound
        /// A snapshot with that key or name exists already.
        case alreadyExists
        /// The snapshot is in the wrong state for the call: committing a view,
        /// mounting a committed snapshot, a parent that is not committed,
        /// removing a snapshot that has children.
        case failedPrecondition
        /// A bad argument (an empty key, an unknown mount option).
        case invalidArgument
        /// The filesystem or the kernel refused (errno in the message).
        case system
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// A failed system call: "<what>: <strerror>".
    static func errno(_ what: String, _ err: Int32 = Glibc.errno) -> SnapshotError {
        SnapshotError(.system, "\(what): \(String(cString: strerror(err)))")
    }
}
