import CArchive
import Content
import Glibc

/// Reads the entries of a layer with libarchive while hashing the uncompressed
/// tar for the diffID, in one pass over the bytes:
///
///     source ─▶ decompressor (format "raw", filters gzip/zstd/…) ─▶ sha256
///                                                               └─▶ tar reader ─▶ entries
///
/// The decompressor detects the compression from the magic bytes (not from a
/// media type), and hands each decompressed block both to the hasher and, as
/// the tar reader's input, to the tar parser: no copy, no second pass. After
/// the tar's end-of-archive marker the rest of the stream (padding) is still
/// read and hashed, since the diffID covers every byte.
final class LayerReader {
    private let decompressor: OpaquePointer
    private let tar: OpaquePointer
    private let source: ByteSource
    private var hasher = Hasher256()
    private(set) var compressedSize: Int64 = 0
    private(set) var uncompressedSize: Int64 = 0
    /// The error a callback hit: libarchive only sees "-1", this keeps the reason.
    private var callbackError: Error?
    private var decompressorDone = false

    init(source: ByteSource) throws {
        self.source = source
        guard let d = archive_read_new(), let t = archive_read_new() else {
            throw UnpackError(.system, "libarchive: out of memory")
        }
        decompressor = d
        tar = t
        // Only filters implemented in-library: support_filter_all would also allow
        // ones that run an external program, which a daemon must not spawn.
        archive_read_support_filter_gzip(d)
        archive_read_support_filter_zstd(d)
        archive_read_support_filter_bzip2(d)
        archive_read_support_filter_xz(d)
        archive_read_support_format_raw(d)
        archive_read_support_format_tar(t)

        let context = Unmanaged.passUnretained(self).toOpaque()
        var rc = ca_read_open(d, context) { _, client, buffer in
            let reader = Unmanaged<LayerReader>.fromOpaque(client!).takeUnretainedValue()
            return reader.readSource(buffer!)
        }
        guard rc == ARCHIVE_OK else { throw failure(d, "read layer") }
        var entry: OpaquePointer?
        rc = archive_read_next_header(d, &entry)
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else { throw failure(d, "read layer") }
        rc = ca_read_open(t, context) { _, client, buffer in
            let reader = Unmanaged<LayerReader>.fromOpaque(client!).takeUnretainedValue()
            return reader.readDecompressed(buffer!)
        }
        guard rc == ARCHIVE_OK else { throw failure(t, "read layer tar") }
    }

    deinit {
        archive_read_free(tar)
        archive_read_free(decompressor)
    }

    /// The compression the decompressor detected.
    var compression: LayerCompression {
        switch archive_filter_code(decompressor, 0) {
        case ARCHIVE_FILTER_GZIP: return .gzip
        case ARCHIVE_FILTER_ZSTD: return .zstd
        case ARCHIVE_FILTER_BZIP2: return .bzip2
        case ARCHIVE_FILTER_XZ: return .xz
        default: return .none
        }
    }

    /// The next tar entry (libarchive's archive_entry, valid until the next call), nil at the end.
    func nextEntry() throws -> OpaquePointer? {
        var entry: OpaquePointer?
        let rc = archive_read_next_header(tar, &entry)
        if rc == ARCHIVE_EOF { return nil }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else { throw failure(tar, "read layer tar") }
        return entry
    }

    /// The current entry's data, block by block: (bytes, offset in the file).
    func readData(_ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        while true {
            var p: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            let rc = archive_read_data_block(tar, &p, &size, &offset)
            if rc == ARCHIVE_EOF { return }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else { throw failure(tar, "read layer data") }
            if size > 0, let p { try body(UnsafeRawBufferPointer(start: p, count: size), Int64(offset)) }
        }
    }

    /// Reads (and hashes) what follows the tar's end, then returns the diffID.
    func finish() throws -> Digest {
        var block: UnsafeRawPointer?
        while !decompressorDone { _ = try pullDecompressed(&block) }
        return hasher.copy().finalize()
    }

    // MARK: callbacks

    private func readSource(_ buffer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        do {
            guard let block = try source.next() else { return 0 }
            compressedSize += Int64(block.count)
            buffer.pointee = block.baseAddress
            return block.count
        } catch {
            callbackError = error
            return -1
        }
    }

    private func readDecompressed(_ buffer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        do {
            while !decompressorDone {
                let n = try pullDecompressed(buffer)
                if n > 0 { return n }
            }
            return 0
        } catch {
            callbackError = error
            return -1
        }
    }

    /// One decompressed block into the hash; its size (0 at the end or for an empty block).
    private func pullDecompressed(_ buffer: UnsafeMutablePointer<UnsafeRawPointer?>) throws -> Int {
        var size = 0
        var offset: la_int64_t = 0
        let rc = archive_read_data_block(decompressor, buffer, &size, &offset)
        if rc == ARCHIVE_EOF {
            decompressorDone = true
            return 0
        }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else { throw failure(decompressor, "decompress layer") }
        if size > 0, let p = buffer.pointee {
            hasher.update(UnsafeRawBufferPointer(start: p, count: size))
            uncompressedSize += Int64(size)
        }
        return size
    }

    /// The callback's own error when it has one, else libarchive's message.
    private func failure(_ archive: OpaquePointer, _ what: String) -> Error {
        if let e = callbackError {
            callbackError = nil
            return e
        }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return UnpackError(.invalidArchive, "\(what): \(message)")
    }
}
