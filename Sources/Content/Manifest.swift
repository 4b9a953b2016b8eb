/// An image manifest (OCI image manifest or Docker schema 2): a config and ordered layers.
public struct Manifest: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor],
                annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}
