import Content
import Glibc

/// Applies one image layer (a tar, plain or compressed with gzip or zstd —
/// detected from its magic bytes) to a directory, computing its diffID on the
/// way. See `LayerExtractor` for the containment and whiteout rules.
///
/// When the diffID does not match `options.expectedDiffID` the call throws
/// after the entries were written: the directory holds an untrusted layer and
/// the caller must discard it (remove the active snapshot).
///
/// To unpack while downloading, use `LayerUnpackStream` (bytes pushed by the
/// caller) or `apply(fd:)` with the read end of a pipe.
public enum LayerUnpacker {
    /// Unpacks the layer in file `path`.
    public static func apply(file path: String, to directory: String, options: UnpackOptions = UnpackOptions()) throws -> UnpackResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UnpackError.errno("open layer \(path)") }
        defer { close(fd) }
        return try apply(source: FileDescriptorSource(fd: fd, name: path), to: directory, options: options)
    }

    /// Unpacks the layer read from `fd` (a file or a pipe) until end of file.
    /// The fd is not closed.
    public static func apply(fd: Int32, to directory: String, options: UnpackOptions = UnpackOptions()) throws -> UnpackResult {
        try apply(source: FileDescriptorSource(fd: fd, name: "layer fd \(fd)"), to: directory, options: options)
    }

    /// Unpacks the layer whose bytes `read` supplies: it fills the buffer it is
    /// given and returns the count, 0 at the end; what it throws ends the unpack.
    public static func apply(to directory: String, options: UnpackOptions = UnpackOptions(),
                             read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) throws -> UnpackResult {
        try apply(source: ClosureSource(read), to: directory, options: options)
    }

    static func apply(source: ByteSource, to directory: String, options: UnpackOptions) throws -> UnpackResult {
        let reader = try LayerReader(source: source)
        let extractor = try LayerExtractor(root: directory, options: options)
        let entries = try extractor.extract(reader)
        let diffID = try reader.finish()
        if let expected = options.expectedDiffID, expected != diffID {
            throw UnpackError.mismatch(expected: expected, actual: diffID)
        }
        return UnpackResult(diffID: diffID, compression: reader.compression, compressedSize: reader.compressedSize,
                            uncompressedSize: reader.uncompressedSize, entries: entries)
    }
}
