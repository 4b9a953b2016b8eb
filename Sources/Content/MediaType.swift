/// Media types of the OCI image spec and of Docker's image manifest schema 2,
/// and the Docker schema 1 types that are recognised only to be refused.
public enum MediaType {
    // OCI
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let ociLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let ociLayerNondistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    public static let ociEmpty = "application/vnd.oci.empty.v1+json"
    public static let ociLayoutHeader = "application/vnd.oci.layout.header.v1+json"

    // Docker schema 2
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd"
    public static let dockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    public static let dockerPluginConfig = "application/vnd.docker.plugin.v1+json"

    // Docker schema 1: refused
    public static let dockerManifestV1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerManifestV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// What a client sends in `Accept` when fetching a manifest by tag: every
    /// manifest and index type it can use (schema 1 deliberately absent).
    public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest]

    public static func isManifest(_ m: String) -> Bool { m == ociManifest || m == dockerManifest }
    public static func isIndex(_ m: String) -> Bool { m == ociIndex || m == dockerManifestList }
    public static func isSchema1(_ m: String) -> Bool {
        m == dockerManifestV1 || m == dockerManifestV1Signed || m == "application/json"
    }
    public static func isConfig(_ m: String) -> Bool { m == ociConfig || m == dockerConfig }

    /// Layer types and how their bytes are compressed.
    public enum Compression: String, Sendable { case none, gzip, zstd }

    /// The compression of a layer media type, nil when it is not a layer type.
    public static func layerCompression(_ m: String) -> Compression? {
        switch m {
        case ociLayer, ociLayerNondistributable, dockerLayer: return Compression.none
        case ociLayerGzip, ociLayerNondistributableGzip, dockerLayerGzip, dockerForeignLayer: return .gzip
        case ociLayerZstd, ociLayerNondistributableZstd, dockerLayerZstd: return .zstd
        default: return nil
        }
    }

    /// Foreign (Windows base) and non-distributable layers: registries may not hold them.
    public static func isForeignLayer(_ m: String) -> Bool {
        m == dockerForeignLayer || m.hasPrefix("application/vnd.oci.image.layer.nondistributable.")
    }
}
