/// Everything that can go wrong in the content store or with image-spec documents.
/// Each case reads as one line naming what is wrong.
public enum ContentError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(Digest)
    case invalidDigest(String)
    case digestMismatch(expected: Digest, actual: Digest)
    case sizeMismatch(digest: Digest, expected: Int64, actual: Int64)
    case noSpace(path: String)
    case ingestLocked(ref: String)
    case io(operation: String, path: String, errno: Int32)
    case invalidDocument(what: String, reason: String)
    case unsupportedMediaType(String)
    case schema1Refused(String)

    public var description: String {
        switch self {
        case .notFound(let d): return "content \(d) not found"
        case .invalidDigest(let s): return "invalid digest \"\(s)\""
        case .digestMismatch(let e, let a):
            return "digest mismatch: expected \(e), got \(a); the data was discarded"
        case .sizeMismatch(let d, let e, let a):
            return "size mismatch for \(d): expected \(e) bytes, got \(a); the data was discarded"
        case .noSpace(let p): return "no space left on device writing \(p); nothing was committed"
        case .ingestLocked(let r): return "ingest \(r) is in use by another writer"
        case .io(let op, let p, let e): return "\(op) \(p): \(String(cString: strerror(e)))"
        case .invalidDocument(let w, let r): return "invalid \(w): \(r)"
        case .unsupportedMediaType(let m): return "unsupported media type \(m)"
        case .schema1Refused(let m):
            return "Docker image manifest schema 1 (\(m)) is not supported: it is deprecated and unsafe; push the image again with a current client"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
