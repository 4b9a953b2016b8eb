import Content
import Glibc

/// Why a layer could not be applied; every message names the layer entry or
/// the digest concerned.
public struct UnpackError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// The bytes are not a (compressed) tar archive, or it is truncated or corrupt.
        case invalidArchive
        /// The uncompressed tar does not hash to the expected diffID.
        case diffIDMismatch
        /// An entry would reach outside the target directory, or conflicts with
        /// the tree (a file where its parent directory should be).
        case unsafeEntry
        /// The filesystem refused (errno in the message).
        case system
        /// The caller cancelled a streamed unpack, or its byte source failed.
        case cancelled
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func errno(_ what: String, _ err: Int32 = Glibc.errno) -> UnpackError {
        UnpackError(.system, "\(what): \(String(cString: strerror(err)))")
    }

    static func mismatch(expected: Digest, actual: Digest) -> UnpackError {
        UnpackError(.diffIDMismatch, "layer diffID mismatch: expected \(expected), got \(actual)")
    }
}
