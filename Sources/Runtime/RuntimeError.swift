import Glibc

/// The one error type of the runtime. `message` is what the user reads on
/// stderr and in the `--log` file, worded as runc words it where tools match on
/// the text (containerd looks for "does not exist" and "container not running").
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// "what: strerror(errno)" for a failed syscall, e.g. `mount /proc: Operation not permitted`.
    public static func sys(_ what: String, _ err: Int32 = errno) -> RuntimeError {
        RuntimeError("\(what): \(errnoText(err))")
    }
}

public func errnoText(_ err: Int32) -> String { String(cString: strerror(err)) }

/// Runs a libc-style call that returns -1 on failure, retrying on EINTR.
@discardableResult
func check(_ what: @autoclosure () -> String, _ call: () -> Int32) throws(RuntimeError) -> Int32 {
    while true {
        let r = call()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        throw RuntimeError.sys(what(), e)
    }
}
