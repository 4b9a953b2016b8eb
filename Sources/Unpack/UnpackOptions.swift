import Content

/// How OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) are applied.
public enum WhiteoutMode: Sendable {
    /// Into an overlayfs upper directory: `.wh.NAME` becomes a 0/0 character
    /// device NAME, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its
    /// directory. overlayfs then hides the lower layers' entries.
    case overlay
    /// Into a full copy of the lower layers (the copying snapshotter): the
    /// whiteout-ed path is deleted; an opaque directory loses every entry this
    /// layer did not itself create.
    case delete
}

/// The compression of a layer, detected from its first bytes.
public enum LayerCompression: String, Sendable {
    case none, gzip, zstd, bzip2, xz
}

public struct UnpackOptions: Sendable {
    public var whiteouts: WhiteoutMode
    /// When set, the uncompressed tar must hash to it (the manifest's config
    /// lists one diffID per layer); a mismatch fails the unpack.
    public var expectedDiffID: Digest?
    /// The parent layers' directories, nearest first (overlay mode). A directory
    /// the layer implies without an entry of its own (`a/b/c` without `a/b`) is
    /// created with the owner, mode and times it has there, so that the upper
    /// directory does not change how the merged tree shows it.
    public var lowerDirectories: [String]

    public init(whiteouts: WhiteoutMode = .overlay, expectedDiffID: Digest? = nil, lowerDirectories: [String] = []) {
        self.whiteouts = whiteouts
        self.expectedDiffID = expectedDiffID
        self.lowerDirectories = lowerDirectories
    }
}

public struct UnpackResult: Sendable {
    /// sha256 of the uncompressed tar stream.
    public var diffID: Digest
    public var compression: LayerCompression
    /// Bytes read from the source (compressed).
    public var compressedSize: Int64
    /// Bytes of the uncompressed tar.
    public var uncompressedSize: Int64
    /// Tar entries applied (whiteouts included).
    public var entries: Int
}
