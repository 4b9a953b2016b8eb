/// What the store knows about a committed blob.
public struct ContentInfo: Sendable, Hashable {
    public var digest: Digest
    public var size: Int64
    /// When the blob was committed (seconds since the epoch, from its mtime).
    public var committedAt: Int64
}

/// An ingest in progress, as found on disk.
public struct IngestStatus: Sendable, Hashable {
    public var ref: String
    public var expected: Descriptor?
    /// Bytes already written (the offset a resumed download starts at).
    public var offset: Int64
}
