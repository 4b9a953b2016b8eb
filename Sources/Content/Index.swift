/// An image index (OCI image index or Docker manifest list): manifests per platform.
public struct Index: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The manifest for `platform`, as containerd chooses: among entries whose platform
    /// matches, the best fit (exact variant first), then the earliest. Entries without a
    /// platform, and attestation manifests (`unknown/unknown`), are never chosen when any
    /// entry names a platform.
    public func manifest(for platform: Platform) -> Descriptor? {
        var best: (Descriptor, Int)?
        for d in manifests where MediaType.isManifest(d.mediaType) || MediaType.isIndex(d.mediaType) {
            guard let p = d.platform, platform.matches(p) else { continue }
            let score = platform.preference(for: p)
            if best == nil || score > best!.1 { best = (d, score) }
        }
        if let best { return best.0 }
        if manifests.allSatisfy({ $0.platform == nil }), manifests.count == 1 { return manifests.first }
        return nil
    }
}
