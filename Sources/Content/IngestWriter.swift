import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Writes one blob into the store: bytes are hashed as they are written, and `commit()`
/// publishes them only when size and digest match what was expected.
///
/// Resume protocol: the partial bytes live in `ingest/<key>/data` and survive the process.
/// Opening a writer on the same ref re-hashes that file to rebuild the hash state, so
/// `offset` is where the next byte goes (an HTTP `Range: bytes=<offset>-` request).
/// The writer holds an exclusive `flock` on the data file, so a second writer on the same
/// ref, in this process or another, fails with `ingestLocked` instead of interleaving.
///
/// Not thread-safe: one thread writes at a time (the transfer thread that owns it).
public final class IngestWriter: @unchecked Sendable {
    public let ref: String
    public let expected: Descriptor
    public private(set) var offset: Int64 = 0
    let store: ContentStore
    let directory: String
    private var fd: Int32 = -1
    private var hasher: Hasher256

    init(store: ContentStore, ref: String, directory: String, expected: Descriptor) throws(ContentError) {
        self.store = store
        self.ref = ref
        self.directory = directory
        self.expected = expected
        hasher = Hasher256(algorithm: expected.digest.algorithm)

        try POSIXFile.mkdirs(directory)
        let dataPath = directory + "/data"
        // An ingest left for another digest under this ref is stale: start over.
        if let old = try? POSIXFile.readFile(directory + "/expected"),
           let desc = try? JSONDecoder().decode(Descriptor.self, from: Data(old)), desc.digest != expected.digest {
            unlink(dataPath)
        }
        fd = try POSIXFile.open(dataPath, O_RDWR | O_CREAT, 0o644)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            Glibc.close(fd)
            fd = -1
            throw .ingestLocked(ref: ref)
        }
        do {
            try POSIXFile.writeFile(directory + "/ref", Array(ref.utf8))
            try POSIXFile.writeFile(directory + "/expected", ImageDocument.encode(expected))
            try rehashExisting(dataPath)
        } catch {
            closeFile()
            throw error
        }
    }

    deinit { closeFile() }

    /// Unlocks, then closes. The explicit unlock matters: the lock belongs to
    /// the open file description, and a process another thread is spawning at
    /// that moment holds a copy of it until its exec closes it (O_CLOEXEC acts
    /// only then); a bare close would leave the ref locked for that while, and
    /// a writer reopened at once (a resumed pull) would be refused.
    private func closeFile() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        Glibc.close(fd)
        fd = -1
    }

    /// Rebuilds the hash of the bytes already on disk (a resumed ingest). Bytes beyond the
    /// expected size cannot belong to the blob, so such an ingest restarts from zero.
    private func rehashExisting(_ path: String) throws(ContentError) {
        var st = stat()
        fstat(fd, &st)
        var size = Int64(st.st_size)
        if expected.size >= 0 && size > expected.size {
            ftruncate(fd, 0)
            size = 0
        }
        if size > 0 {
            let chunk = 1 << 20
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
            defer { buffer.deallocate() }
            var at: Int64 = 0
            while at < size {
                let n = pread(fd, buffer.baseAddress, min(chunk, Int(size - at)), off_t(at))
                if n < 0 { if errno == EINTR { continue }; throw .io(operation: "read", path: path, errno: errno) }
                if n == 0 { break }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                at += Int64(n)
            }
            size = at
        }
        offset = size
        lseek(fd, off_t(offset), SEEK_SET)
    }

    /// Appends bytes at `offset` and hashes them. On a full disk the partial write is cut back,
    /// so the data file always holds exactly the bytes hashed, and `noSpace` is thrown.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ContentError) {
        guard bytes.count > 0 else { return }
        if expected.size >= 0 && offset + Int64(bytes.count) > expected.size {
            throw .sizeMismatch(digest: expected.digest, expected: expected.size, actual: offset + Int64(bytes.count))
        }
        let r = POSIXFile.writeAll(fd, bytes)
        if let e = r.errno {
            ftruncate(fd, off_t(offset))
            lseek(fd, off_t(offset), SEEK_SET)
            throw e == ENOSPC || e == EDQUOT ? .noSpace(path: directory + "/data") : .io(operation: "write", path: directory + "/data", errno: e)
        }
        hasher.update(bytes)
        offset += Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws(ContentError) {
        let failure = bytes.withUnsafeBytes { raw -> ContentError? in
            do throws(ContentError) { try write(raw); return nil } catch { return error }
        }
        if let failure { throw failure }
    }

    /// Drops everything after `newOffset` (0: start again, when a server ignored a Range request).
    public func truncate(to newOffset: Int64) throws(ContentError) {
        guard newOffset <= offset else { return }
        if ftruncate(fd, off_t(newOffset)) != 0 { throw .io(operation: "truncate", path: directory + "/data", errno: errno) }
        hasher = Hasher256(algorithm: expected.digest.algorithm)
        try rehashExisting(directory + "/data")
    }

    /// Reads back the bytes written so far, in order (to replay a resumed ingest's prefix to a
    /// consumer that must see the blob from its first byte).
    public func readBack(chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var at: Int64 = 0
        while at < offset {
            let n = pread(fd, buffer.baseAddress, min(chunkSize, Int(offset - at)), off_t(at))
            if n < 0 { if errno == EINTR { continue }; throw ContentError.io(operation: "read", path: directory + "/data", errno: errno) }
            if n == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            at += Int64(n)
        }
    }

    /// The digest of the bytes written so far.
    public var digestSoFar: Digest { hasher.copy().finalize() }

    /// Verifies size and digest, makes the bytes durable and renames them into `blobs/`.
    /// On a mismatch the ingest is discarded and nothing is committed.
    @discardableResult
    public func commit() throws(ContentError) -> ContentInfo {
        guard fd >= 0 else { throw .io(operation: "commit", path: directory, errno: EBADF) }
        let actual = digestSoFar
        if expected.size >= 0 && offset != expected.size {
            discard()
            throw .sizeMismatch(digest: expected.digest, expected: expected.size, actual: offset)
        }
        if actual != expected.digest {
            discard()
            throw .digestMismatch(expected: expected.digest, actual: actual)
        }
        let target = store.path(of: expected.digest)
        if store.has(expected.digest) {
            discard()
            return try store.info(expected.digest)
        }
        if fsync(fd) != 0 {
            let e = errno
            discard()
            throw e == ENOSPC || e == EDQUOT ? .noSpace(path: target) : .io(operation: "fsync", path: directory + "/data", errno: e)
        }
        fchmod(fd, 0o444)
        let dir = store.blobsDir + "/" + expected.digest.algorithm
        try POSIXFile.mkdirs(dir)
        if rename(directory + "/data", target) != 0 {
            let e = errno
            discard()
            throw e == ENOSPC || e == EDQUOT ? .noSpace(path: target) : .io(operation: "rename", path: target, errno: e)
        }
        POSIXFile.fsyncDirectory(dir)
        closeFile()
        POSIXFile.removeTree(directory)
        return try store.info(expected.digest)
    }

    /// Closes the writer and keeps the partial data for a later resume.
    public func close() { closeFile() }

    /// Closes the writer and removes the ingest with its partial data.
    public func abort() { discard() }

    private func discard() {
        closeFile()
        POSIXFile.removeTree(directory)
    }
}
