import Glibc

/// A failure of berthd itself (start-up, lock, socket, config): one line that
/// names what is wrong, printed as `berthd: MESSAGE` before exiting 1.
public struct DaemonError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// `what: strerror(errno)`, for a failed syscall.
    static func errno(_ what: String, _ code: Int32 = Glibc.errno) -> DaemonError {
        DaemonError("\(what): \(String(cString: strerror(code)))")
    }
}
