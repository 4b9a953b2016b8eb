/// An OCI content descriptor: what a blob is, its digest and size, and optional hints.
public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    /// Embedded content, base64 (rarely used; kept so a round trip does not drop it).
    public var data: String?
    public var platform: Platform?
    public var artifactType: String?

    public init(mediaType: String, digest: Digest, size: Int64, urls: [String]? = nil,
                annotations: [String: String]? = nil, platform: Platform? = nil, artifactType: String? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.platform = platform
        self.artifactType = artifactType
    }

    /// A descriptor for bytes held in memory (a manifest, index or config about to be stored or pushed).
    public init(mediaType: String, bytes: [UInt8]) {
        self.init(mediaType: mediaType, digest: Digest.sha256(of: bytes), size: Int64(bytes.count))
    }
}
