import Content

/// What `pull` may be told.
public struct PullOptions: Sendable {
    /// The platform to select from an index; the host's when nil.
    public var platform: Platform?
    public var progress: ProgressHandler?
    /// Asked once per layer (with its position) before it downloads; a consumer it returns
    /// receives that layer's bytes while they arrive (to unpack while downloading).
    public var layerConsumer: (@Sendable (Descriptor, Int) -> BlobConsumer?)?

    public init(platform: Platform? = nil, progress: ProgressHandler? = nil,
                layerConsumer: (@Sendable (Descriptor, Int) -> BlobConsumer?)? = nil) {
        self.platform = platform
        self.progress = progress
        self.layerConsumer = layerConsumer
    }
}

/// An image brought into the content store by `pull`.
public struct PulledImage: Sendable {
    public var reference: Reference
    /// What the reference resolved to: an index, or the manifest itself.
    public var target: Descriptor
    public var index: Index?
    public var manifestDescriptor: Descriptor
    public var manifest: Manifest
    public var config: ImageConfig
    /// How each layer (in manifest order) came to be in the store.
    public var layerResults: [BlobFetchResult]
}

extension RegistryClient {
    /// Pulls an image: resolves the reference, stores the index (if any), the manifest for the
    /// platform, the config and every layer, with at most `maxConcurrentDownloads` blob
    /// downloads at once. Everything stored is digest-verified.
    public func pull(_ reference: Reference, into store: ContentStore, options: PullOptions = PullOptions()) async throws -> PulledImage {
        let reference = reference.withDefaultTag
        let (target, targetBytes) = try await fetchManifest(reference)
        if let wanted = reference.digest, wanted != target.digest {
            throw RegistryError.content(.digestMismatch(expected: wanted, actual: target.digest))
        }
        try store.putOrThrow(targetBytes, mediaType: target.mediaType)
        var index: Index?
        var manifestDescriptor = target
        var manifestBytes = targetBytes
        if case .index(let i) = try ImageDocument.decodeOrThrow(targetBytes, mediaType: target.mediaType) {
            index = i
            let platform = options.platform ?? Platform.host
            guard var chosen = i.manifest(for: platform) else {
                throw RegistryError.noMatchingPlatform(platform: platform.description,
                                                       available: i.manifests.compactMap { $0.platform?.description })
            }
            if MediaType.isIndex(chosen.mediaType) {
                throw RegistryError.content(.unsupportedMediaType("nested index \(chosen.digest)"))
            }
            (chosen, manifestBytes) = try await fetchManifest(reference, expected: chosen)
            try store.putOrThrow(manifestBytes, mediaType: chosen.mediaType)
            manifestDescriptor = chosen
        }
        guard case .manifest(let manifest) = try ImageDocument.decodeOrThrow(manifestBytes, mediaType: manifestDescriptor.mediaType) else {
            throw RegistryError.content(.unsupportedMediaType(manifestDescriptor.mediaType))
        }
        if !MediaType.isConfig(manifest.config.mediaType) {
            throw RegistryError.content(.unsupportedMediaType("config \(manifest.config.mediaType) (not an image)"))
        }
        try await fetchBlob(manifest.config, from: reference, into: store)
        let config: ImageConfig
        do { config = try ImageDocument.decodeConfig(try store.read(manifest.config.digest)) } catch { throw RegistryError.content(error) }

        let layers = manifest.layers
        for layer in layers where !store.has(layer.digest) {
            options.progress?(BlobProgress(descriptor: layer, state: .waiting))
        }
        var results = [BlobFetchResult](repeating: .alreadyExists, count: layers.count)
        let limit = max(configuration.maxConcurrentDownloads, 1)
        try await withThrowingTaskGroup(of: (Int, BlobFetchResult).self) { group in
            var next = 0
            func start() {
                let i = next
                next += 1
                let layer = layers[i]
                group.addTask {
                    let consumer = options.layerConsumer?(layer, i)
                    return (i, try await self.fetchBlob(layer, from: reference, into: store,
                                                        progress: options.progress, consumer: consumer))
                }
            }
            while next < layers.count && next < limit { start() }
            while let (i, r) = try await group.next() {
                results[i] = r
                if next < layers.count { start() }
            }
        }
        return PulledImage(reference: reference, target: target, index: index, manifestDescriptor: manifestDescriptor,
                           manifest: manifest, config: config, layerResults: results)
    }
}

extension ContentStore {
    @discardableResult
    func putOrThrow(_ bytes: [UInt8], mediaType: String) throws -> Descriptor {
        do { return try put(bytes, mediaType: mediaType) } catch { throw RegistryError.content(error) }
    }
}
