import FoundationEssentials
import Content
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a blob came to be in the store.
public enum BlobFetchResult: Sendable, Equatable {
    /// Downloaded by this call; `resumedFrom` > 0 when a partial ingest was continued with Range.
    case downloaded(resumedFrom: Int64)
    /// It was in the store already; nothing was transferred and the consumer was not called.
    case alreadyExists
    /// Another call was downloading it; this one waited for that download (and fed its
    /// consumer from the committed blob).
    case joined
}

extension RegistryClient {
    /// The largest manifest or index accepted (the distribution spec's suggested limit is 4 MiB).
    static let manifestLimit = 4 << 20

    /// Resolves a reference to the descriptor of its manifest or index: HEAD first (cheap, and
    /// not counted against Docker Hub's pull limit), GET when the HEAD does not say enough.
    /// A schema 1 manifest is refused.
    public func resolve(_ reference: Reference) async throws -> Descriptor {
        try await offPool { flag in try self.resolveBlocking(reference, cancelled: flag) }
    }

    func resolveBlocking(_ reference: Reference, cancelled: CancellationFlag?) throws -> Descriptor {
        let path = "/v2/\(reference.path)/manifests/\(reference.manifestIdentifier)"
        let accept = "Accept: " + MediaType.manifestAccept.joined(separator: ", ")
        let scopes = [RegistryClient.pullScope(reference.path)]
        let r = try send("HEAD", domain: reference.domain, path, scopes: scopes, headers: [accept], cancelled: cancelled)
        if r.status == 200, let type = r.header("content-type"), let length = r.header("content-length").flatMap({ Int64($0) }) {
            let mediaType = Self.bareMediaType(type)
            if MediaType.isSchema1(mediaType) { throw RegistryError.content(.schema1Refused(mediaType)) }
            let digest = reference.digest ?? r.header("docker-content-digest").flatMap { Digest($0) }
            if let digest, MediaType.isManifest(mediaType) || MediaType.isIndex(mediaType) {
                return Descriptor(mediaType: mediaType, digest: digest, size: length)
            }
        } else if r.status == 404 {
            throw failure(r, what: "manifest for \(reference.familiarString)")
        } else if r.status == 401 || r.status == 403 {
            throw failure(r, what: "pull access to \(reference.familiarName)")
        }
        return try fetchManifestBlocking(reference, expected: nil, cancelled: cancelled).0
    }

    /// Fetches a manifest or index by `expected`'s digest (or by the reference when nil), checks
    /// its digest over the bytes as received, and returns its descriptor and bytes.
    public func fetchManifest(_ reference: Reference, expected: Descriptor? = nil) async throws -> (Descriptor, [UInt8]) {
        try await offPool { flag in try self.fetchManifestBlocking(reference, expected: expected, cancelled: flag) }
    }

    func fetchManifestBlocking(_ reference: Reference, expected: Descriptor?, cancelled: CancellationFlag?) throws -> (Descriptor, [UInt8]) {
        let id = expected?.digest.description ?? reference.manifestIdentifier
        let path = "/v2/\(reference.path)/manifests/\(id)"
        let accept = "Accept: " + ((expected.map { [$0.mediaType] } ?? []) + MediaType.manifestAccept).joined(separator: ", ")
        let r = try send("GET", domain: reference.domain, path, scopes: [RegistryClient.pullScope(reference.path)],
                         headers: [accept], cancelled: cancelled)
        guard r.status == 200 else {
            throw failure(r, what: "manifest for \(reference.name)" + (expected == nil ? ":" + reference.manifestIdentifier : "@" + id))
        }
        guard r.body.count <= RegistryClient.manifestLimit else { throw RegistryError.invalidResponse("manifest larger than 4 MiB") }
        let served = r.header("content-type").map(Self.bareMediaType)
        // Decoding refuses schema 1 and works out the type when the server's is generic.
        let document = try ImageDocument.decodeOrThrow(r.body, mediaType: served ?? expected?.mediaType)
        var mediaType: String
        switch document {
        case .manifest(let m): mediaType = served.flatMap { MediaType.isManifest($0) ? $0 : nil } ?? m.mediaType ?? MediaType.ociManifest
        case .index(let i): mediaType = served.flatMap { MediaType.isIndex($0) ? $0 : nil } ?? i.mediaType ?? MediaType.ociIndex
        }
        if let e = expected, e.mediaType == mediaType || MediaType.isSchema1(e.mediaType) == false { mediaType = e.mediaType }
        let wanted = expected?.digest ?? reference.digest
        let algorithm = wanted?.algorithm ?? "sha256"
        var h = Hasher256(algorithm: algorithm)
        h.update(r.body)
        let actual = h.finalize()
        if let wanted, wanted != actual { throw RegistryError.content(.digestMismatch(expected: wanted, actual: actual)) }
        if wanted == nil, let header = r.header("docker-content-digest").flatMap({ Digest($0) }),
           header.algorithm == "sha256", header != actual {
            throw RegistryError.content(.digestMismatch(expected: header, actual: actual))
        }
        return (Descriptor(mediaType: mediaType, digest: actual, size: Int64(r.body.count)), r.body)
    }

    static func bareMediaType(_ header: String) -> String {
        String((header.split(separator: ";").first ?? "").filter { $0 != " " }).lowercased()
    }

    /// Downloads a blob into the store, verified against its descriptor. Resumes a partial ingest
    /// with `Range`, retries network failures with back-off (each retry resumes where the last
    /// stopped), and shares one download among concurrent calls for the same digest. `consumer`
    /// sees the blob's bytes from offset 0 while they arrive. Nothing reaches `blobs/` unless
    /// size and digest match; a full disk discards the partial data and throws `noSpace`.
    @discardableResult
    public func fetchBlob(_ descriptor: Descriptor, from repository: Reference, into store: ContentStore,
                          progress: ProgressHandler? = nil, consumer: BlobConsumer? = nil) async throws -> BlobFetchResult {
        if store.has(descriptor.digest) {
            progress?(BlobProgress(descriptor: descriptor, state: .alreadyExists, current: descriptor.size))
            return .alreadyExists
        }
        let result = Mutex<BlobFetchResult>(.joined)
        let ran = try await store.once(descriptor.digest) {
            let r = try await self.offPool { flag in
                try self.downloadBlocking(descriptor, from: repository, into: store, progress: progress,
                                          consumer: consumer, cancelled: flag)
            }
            result.withLock { $0 = r }
        }
        if ran { return result.withLock { $0 } }
        // Joined another caller's download: the blob is committed; replay it to our consumer.
        if let consumer { try store.read(descriptor.digest) { try consumer($0) } }
        progress?(BlobProgress(descriptor: descriptor, state: .downloadComplete, current: descriptor.size))
        return .joined
    }

    func downloadBlocking(_ descriptor: Descriptor, from repository: Reference, into store: ContentStore,
                          progress: ProgressHandler?, consumer: BlobConsumer?, cancelled: CancellationFlag?) throws -> BlobFetchResult {
        let digest = descriptor.digest
        let writer: IngestWriter
        do { writer = try store.writer(ref: "fetch-" + digest.description, expected: descriptor) } catch { throw RegistryError.content(error) }
        let resumedFrom = writer.offset
        if resumedFrom > 0, let consumer { try writer.readBack { try consumer($0) } }
        let path = "/v2/\(repository.path)/blobs/\(digest)"
        let scopes = [RegistryClient.pullScope(repository.path)]
        let size = descriptor.size
        // Progress at most every 1 MiB or at the end, so a fast transfer is not slowed by it.
        var lastReported: Int64 = -1
        func report(_ state: BlobProgress.State) {
            progress?(BlobProgress(descriptor: descriptor, state: state, current: writer.offset))
        }
        report(.downloading)
        var attempt = 1
        while size < 0 || writer.offset < size {
            let start = writer.offset
            var skip: Int64 = 0
            var headers = [String]()
            if start > 0 { headers.append("Range: bytes=\(start)-") }
            let head: HTTPTransport.Head = { status, headers in
                if status == 206 {
                    let range = headers.last(where: { $0.name == "content-range" })?.value ?? ""
                    // "bytes <first>-<last>/<size>"
                    let first = range.split(separator: " ").last?.split(separator: "-").first.flatMap { Int64($0) }
                    if first != start { throw RegistryError.invalidResponse("asked for bytes from \(start), got range \"\(range)\"") }
                } else if start > 0 {
                    // The server ignored Range and sends the whole blob: drop what we already have.
                    skip = start
                }
            }
            let sink: HTTPTransport.Sink = { buffer in
                var b = buffer
                if skip > 0 {
                    let n = Int(min(skip, Int64(b.count)))
                    b = UnsafeRawBufferPointer(rebasing: b[n...])
                    skip -= Int64(n)
                    if b.isEmpty { return }
                }
                try writer.write(b)
                if let consumer { try consumer(b) }
                if progress != nil, writer.offset - lastReported >= 1 << 20 || writer.offset == size {
                    lastReported = writer.offset
                    report(.downloading)
                }
            }
            let response: HTTPResponse
            do {
                response = try send("GET", domain: repository.domain, path, scopes: scopes, headers: headers,
                                    retryTransport: false, head: head, sink: sink, cancelled: cancelled)
            } catch {
                // A failed write was cut back, so the ingest still holds exactly the bytes hashed.
                if case .content(let ce) = error, case .noSpace = ce { writer.abort(); throw error }
                guard case .transport(let url, let message) = error, cancelled?.isSet != true else {
                    writer.close()
                    throw error
                }
                if attempt >= configuration.maxAttempts {
                    let kept = writer.offset
                    writer.close()
                    throw RegistryError.transport(url: url, message: message + " (download failed after \(attempt) attempts"
                        + (kept > 0 ? "; the next pull resumes from byte \(kept))" : ")"))
                }
                // Progress made means the network works: the attempt budget starts again.
                if writer.offset > start { attempt = 1 } else { attempt += 1 }
                report(.retrying)
                backoff(attempt)
                continue
            }
            if response.status == 416 && start > 0 {
                // The partial data does not fit what the server has: start from scratch.
                try writer.truncate(to: 0)
                attempt += 1
                if attempt > configuration.maxAttempts { throw failure(response, what: "blob \(digest)") }
                continue
            }
            guard response.status == 200 || response.status == 206 else {
                writer.close()
                throw failure(response, what: "blob \(digest) in \(repository.name)")
            }
            if size >= 0 && writer.offset < size {
                // The body ended early without an error: try again from where it stopped.
                attempt += 1
                if attempt > configuration.maxAttempts {
                    writer.close()
                    throw RegistryError.transport(url: path, message: "blob \(digest) ended at \(writer.offset) of \(size) bytes")
                }
                backoff(attempt)
                continue
            }
            if size < 0 { break }
        }
        report(.verifying)
        do { try writer.commit() } catch { throw RegistryError.content(error) }
        report(.downloadComplete)
        return .downloaded(resumedFrom: resumedFrom)
    }
}

extension ImageDocument {
    /// `decode` with its typed error widened for callers that throw `any Error`.
    static func decodeOrThrow(_ bytes: [UInt8], mediaType: String?) throws -> ImageDocument {
        do { return try decode(bytes, mediaType: mediaType) } catch { throw RegistryError.content(error) }
    }
}
