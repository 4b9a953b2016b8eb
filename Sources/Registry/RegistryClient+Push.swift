import Content
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a blob came to be in the target repository.
public enum BlobPushResult: Sendable, Equatable {
    case pushed
    case alreadyExists
    case mounted(from: String)
}

extension RegistryClient {
    /// Uploads one blob from the store unless the repository has it: HEAD to check, then a
    /// cross-repository mount when `mountFrom` (a repository on the same registry) is given,
    /// else POST an upload session and PUT it whole (up to `monolithicUploadLimit`) or PATCH
    /// it in chunks of `uploadChunkSize` then close with PUT `?digest=`.
    @discardableResult
    public func pushBlob(_ descriptor: Descriptor, from store: ContentStore, to repository: Reference,
                         mountFrom: Reference? = nil, progress: ProgressHandler? = nil) async throws -> BlobPushResult {
        try await offPool { flag in
            try self.pushBlobBlocking(descriptor, from: store, to: repository, mountFrom: mountFrom,
                                      progress: progress, cancelled: flag)
        }
    }

    func pushBlobBlocking(_ descriptor: Descriptor, from store: ContentStore, to repository: Reference, mountFrom: Reference?,
                          progress: ProgressHandler?, cancelled: CancellationFlag?) throws -> BlobPushResult {
        let domain = repository.domain
        var scopes = [RegistryClient.pushScope(repository.path)]
        if let from = mountFrom, from.domain == domain, from.path != repository.path {
            scopes.append(RegistryClient.pullScope(from.path))
        }
        progress?(BlobProgress(descriptor: descriptor, state: .preparing))
        let exists = try send("HEAD", domain: domain, "/v2/\(repository.path)/blobs/\(descriptor.digest)", scopes: scopes,
                              cancelled: cancelled)
        if exists.status == 200 {
            progress?(BlobProgress(descriptor: descriptor, state: .layerAlreadyExists, current: descriptor.size))
            return .alreadyExists
        }
        var uploadPath = "/v2/\(repository.path)/blobs/uploads/"
        if let from = mountFrom, from.domain == domain, from.path != repository.path {
            uploadPath += "?mount=\(descriptor.digest.description.queryEscaped)&from=\(from.path.queryEscaped)"
        }
        let start = try send("POST", domain: domain, uploadPath, scopes: scopes, headers: ["Content-Length: 0"], cancelled: cancelled)
        if start.status == 201, let from = mountFrom {
            progress?(BlobProgress(descriptor: descriptor, state: .mounted, current: descriptor.size, detail: from.path))
            return .mounted(from: from.path)
        }
        guard start.status == 202, var location = start.header("location") else {
            throw failure(start, what: "blob upload to \(repository.name)")
        }
        location = resolveLocation(location, against: start.url)

        let fd: Int32
        do { fd = try store.open(descriptor.digest) } catch { throw RegistryError.content(error) }
        defer { close(fd) }
        let size = descriptor.size
        var sent: Int64 = 0
        var lastReported: Int64 = 0
        let onUpload: (Int64) -> Void = { n in
            if let progress, sent + n - lastReported >= 1 << 20 || sent + n == size {
                lastReported = sent + n
                progress(BlobProgress(descriptor: descriptor, state: .pushing, current: sent + n))
            }
        }
        progress?(BlobProgress(descriptor: descriptor, state: .pushing))
        var minChunk: Int64 = 0
        if let m = start.header("oci-chunk-min-length").flatMap({ Int64($0) }) { minChunk = m }
        if size > configuration.monolithicUploadLimit {
            let chunk = max(configuration.uploadChunkSize, minChunk)
            while sent < size {
                let n = min(chunk, size - sent)
                let r = try send("PATCH", domain: domain, location, scopes: scopes,
                                 headers: ["Content-Type: application/octet-stream", "Content-Range: \(sent)-\(sent + n - 1)"],
                                 body: .file(fd: fd, offset: sent, length: n), onUpload: onUpload, cancelled: cancelled)
                guard r.status == 202 || r.status == 204 else { throw failure(r, what: "blob chunk upload to \(repository.name)") }
                if let l = r.header("location") { location = resolveLocation(l, against: r.url) }
                sent += n
            }
        }
        let separator = location.contains("?") ? "&" : "?"
        let closeURL = location + separator + "digest=" + descriptor.digest.description.queryEscaped
        let remaining = size - sent
        var headers = ["Content-Type: application/octet-stream"]
        if remaining == 0 { headers = ["Content-Length: 0"] }
        let done = try send("PUT", domain: domain, closeURL, scopes: scopes, headers: headers,
                            body: remaining > 0 ? .file(fd: fd, offset: sent, length: remaining) : .none,
                            onUpload: onUpload, cancelled: cancelled)
        guard done.status == 201 || done.status == 204 || done.status == 200 else {
            throw failure(done, what: "blob upload to \(repository.name)")
        }
        progress?(BlobProgress(descriptor: descriptor, state: .pushed, current: size))
        return .pushed
    }

    /// An upload `Location` may be a path or a full URL.
    func resolveLocation(_ location: String, against url: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return location }
        let afterScheme = url[url.index(colon, offsetBy: 3)...]
        let hostEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let origin = String(url[..<hostEnd])
        return location.hasPrefix("/") ? origin + location : origin + "/" + location
    }

    /// PUTs a manifest or index under `reference`'s tag (or its digest when it has no tag).
    /// Returns the descriptor of the bytes as sent.
    @discardableResult
    public func pushManifest(_ bytes: [UInt8], mediaType: String, to reference: Reference) async throws -> Descriptor {
        let descriptor = Descriptor(mediaType: mediaType, bytes: bytes)
        let id = reference.tag ?? descriptor.digest.description
        try await offPool { flag in
            let r = try self.send("PUT", domain: reference.domain, "/v2/\(reference.path)/manifests/\(id)",
                                  scopes: [RegistryClient.pushScope(reference.path)],
                                  headers: ["Content-Type: " + mediaType], body: .bytes(bytes), cancelled: flag)
            guard r.status == 201 || r.status == 200 || r.status == 202 else {
                throw self.failure(r, what: "manifest push to \(reference.name):\(id)")
            }
            if let echoed = r.header("docker-content-digest").flatMap({ Digest($0) }), echoed != descriptor.digest {
                throw RegistryError.content(.digestMismatch(expected: descriptor.digest, actual: echoed))
            }
        }
        return descriptor
    }

    /// Pushes an image held in the store: for an index, every child manifest (by digest) with
    /// its blobs; for a manifest, its config and layers (at most `maxConcurrentDownloads` at
    /// once); then the root under the reference's tag. Blobs go up before the manifests that
    /// name them, as registries require.
    @discardableResult
    public func push(_ root: Descriptor, from store: ContentStore, to reference: Reference, mountFrom: Reference? = nil,
                     progress: ProgressHandler? = nil) async throws -> Descriptor {
        let bytes: [UInt8]
        do { bytes = try store.read(root.digest) } catch { throw RegistryError.content(error) }
        switch try ImageDocument.decodeOrThrow(bytes, mediaType: root.mediaType) {
        case .index(let index):
            var byDigest = reference
            byDigest.tag = nil
            for child in index.manifests {
                guard store.has(child.digest) else { continue } // platforms not pulled are not pushed
                try await push(child, from: store, to: byDigest, mountFrom: mountFrom, progress: progress)
            }
        case .manifest(let manifest):
            let blobs = [manifest.config] + manifest.layers
            let limit = max(configuration.maxConcurrentDownloads, 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func start() {
                    let blob = blobs[next]
                    next += 1
                    group.addTask {
                        try await self.pushBlob(blob, from: store, to: reference, mountFrom: mountFrom,
                                                progress: MediaType.isConfig(blob.mediaType) ? nil : progress)
                    }
                }
                while next < blobs.count && next < limit { start() }
                while try await group.next() != nil {
                    if next < blobs.count { start() }
                }
            }
        }
        var target = reference
        if target.tag == nil { target.digest = root.digest }
        return try await pushManifest(bytes, mediaType: root.mediaType, to: target)
    }
}
