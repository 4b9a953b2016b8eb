import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed blob store under `ROOT/content`, laid out as containerd lays it out:
///
///     ROOT/content/blobs/<alg>/<hex>     committed blobs, read-only (0444), immutable
///     ROOT/content/ingest/<key>/         one partial write per ref (key = sha256 of the ref)
///         ref                            the ref, as the writer named it
///         expected                       the expected descriptor (JSON)
///         data                           the bytes received so far
///
/// A blob appears in `blobs/` only through `IngestWriter.commit()`, which checks size and
/// digest, fsyncs, and renames atomically, so a reader never sees a partial or wrong blob.
public final class ContentStore: Sendable {
    public let root: String
    let blobsDir: String
    let ingestDir: String
    private let inFlight = Mutex<[Digest: Task<Void, any Error>]>([:])

    public init(root: String) throws(ContentError) {
        self.root = root
        blobsDir = root + "/content/blobs"
        ingestDir = root + "/content/ingest"
        try POSIXFile.mkdirs(blobsDir + "/sha256")
        try POSIXFile.mkdirs(ingestDir)
    }

    /// Where the committed blob `digest` lives (whether or not it exists).
    public func path(of digest: Digest) -> String { blobsDir + "/" + digest.algorithm + "/" + digest.encoded }

    public func has(_ digest: Digest) -> Bool { access(path(of: digest), F_OK) == 0 }

    public func info(_ digest: Digest) throws(ContentError) -> ContentInfo {
        var st = stat()
        guard stat(path(of: digest), &st) == 0 else {
            throw errno == ENOENT ? .notFound(digest) : .io(operation: "stat", path: path(of: digest), errno: errno)
        }
        return ContentInfo(digest: digest, size: Int64(st.st_size), committedAt: Int64(st.st_mtim.tv_sec))
    }

    /// A read-only file descriptor on the blob; the caller closes it.
    public func open(_ digest: Digest) throws(ContentError) -> Int32 {
        do { return try POSIXFile.open(path(of: digest), O_RDONLY) } catch {
            if case .io(_, _, ENOENT) = error { throw .notFound(digest) }
            throw error
        }
    }

    /// The whole blob in memory: for manifests, indexes and configs, not for layers.
    public func read(_ digest: Digest) throws(ContentError) -> [UInt8] {
        do { return try POSIXFile.readFile(path(of: digest)) } catch {
            if case .io(_, _, ENOENT) = error { throw .notFound(digest) }
            throw error
        }
    }

    /// Reads the blob in chunks of up to `chunkSize` bytes, without holding it all in memory.
    public func read(_ digest: Digest, from offset: Int64 = 0, chunkSize: Int = 1 << 20,
                     _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = try open(digest)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var at = off_t(offset)
        while true {
            let n = pread(fd, buffer.baseAddress, chunkSize, at)
            if n < 0 { if errno == EINTR { continue }; throw ContentError.io(operation: "read", path: path(of: digest), errno: errno) }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            at += off_t(n)
        }
    }

    public func delete(_ digest: Digest) throws(ContentError) {
        if unlink(path(of: digest)) != 0 {
            throw errno == ENOENT ? .notFound(digest) : .io(operation: "unlink", path: path(of: digest), errno: errno)
        }
    }

    /// Every committed blob, in no particular order.
    public func list() throws(ContentError) -> [ContentInfo] {
        var out = [ContentInfo]()
        try walk { out.append($0) }
        return out
    }

    public func walk(_ body: (ContentInfo) throws(ContentError) -> Void) throws(ContentError) {
        for alg in try POSIXFile.list(blobsDir) {
            for name in try POSIXFile.list(blobsDir + "/" + alg) {
                guard let d = Digest(alg + ":" + name), let i = try? info(d) else { continue }
                try body(i)
            }
        }
    }

    /// Stores bytes held in memory (a manifest, index or config) under their digest, verified
    /// against `expected` when given. Returns the descriptor written.
    @discardableResult
    public func put(_ bytes: [UInt8], mediaType: String, expected: Digest? = nil) throws(ContentError) -> Descriptor {
        let desc = Descriptor(mediaType: mediaType, bytes: bytes)
        if let expected, expected != desc.digest { throw .digestMismatch(expected: expected, actual: desc.digest) }
        if has(desc.digest) { return desc }
        let w = try writer(ref: "put-" + desc.digest.description, expected: desc)
        if w.offset != 0 { try w.truncate(to: 0) }
        try w.write(bytes)
        try w.commit()
        return desc
    }

    // MARK: ingests

    func ingestPath(_ ref: String) -> String { ingestDir + "/" + Digest.sha256(of: Array(ref.utf8)).encoded }

    /// Opens the ingest `ref` for writing `expected`, resuming what an earlier writer (in this
    /// process or one that died) left: `offset` says how many bytes are already there. An
    /// ingest left for a different digest is discarded. Only one writer per ref at a time.
    /// If the blob is already committed the writer still opens; `commit()` then just succeeds.
    public func writer(ref: String, expected: Descriptor) throws(ContentError) -> IngestWriter {
        try IngestWriter(store: self, ref: ref, directory: ingestPath(ref), expected: expected)
    }

    /// Every ingest on disk, with how far it got.
    public func ingests() throws(ContentError) -> [IngestStatus] {
        var out = [IngestStatus]()
        for key in try POSIXFile.list(ingestDir) {
            let dir = ingestDir + "/" + key
            guard let ref = try? POSIXFile.readFile(dir + "/ref") else { continue }
            let expected = (try? POSIXFile.readFile(dir + "/expected")).flatMap { try? JSONDecoder().decode(Descriptor.self, from: Data($0)) }
            out.append(IngestStatus(ref: String(decoding: ref, as: UTF8.self), expected: expected,
                                    offset: POSIXFile.size(dir + "/data") ?? 0))
        }
        return out
    }

    /// Removes the ingest `ref` and its partial data (a no-op when there is none).
    public func abortIngest(ref: String) {
        POSIXFile.removeTree(ingestPath(ref))
    }

    // MARK: single flight

    /// Runs `produce` to bring `digest` into the store unless a call for the same digest is
    /// already running, in which case this call waits for that one instead of starting a second
    /// download. Returns true when this call ran `produce`, false when it joined another.
    /// A failed producer fails its joiners too; the next call starts afresh.
    public func once(_ digest: Digest, _ produce: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        var ours = false
        let task: Task<Void, any Error> = inFlight.withLock { map in
            if let t = map[digest] { return t }
            ours = true
            let t = Task { try await produce() }
            map[digest] = t
            return t
        }
        if ours {
            defer { _ = inFlight.withLock { $0.removeValue(forKey: digest) } }
            try await task.value
        } else {
            try await task.value
        }
        return ours
    }
}
