import Content
import FoundationEssentials
import Glibc
import Registry
import RPC
import Snapshots
import Synchronization
import Unpack

extension ImageService {
    /// What a pull did, for the CLI's last lines.
    public struct PullResult: Sendable, Codable {
        /// The normalized name recorded (docker.io/library/busybox:latest).
        public var name: String
        public var digest: Digest
        public var imageID: Digest
        /// False when the name already pointed at this target ("Image is up to date").
        public var changed: Bool
    }

    /// Pulls `ref` for `platform` (the host's by default): the target, the
    /// platform's manifest and config, and the layers (at most three
    /// downloads at once), each layer unpacked into its chain-ID snapshot
    /// while it downloads. A layer whose snapshot and blob exist is skipped
    /// ("Already exists"). A lease protects everything until the image is
    /// recorded; a pull that fails leaves no active snapshot behind, and its
    /// partial downloads stay resumable until the lease expires.
    public func pull(_ ref: Reference, platform: Platform? = nil, credentials: (any CredentialProvider)? = nil,
                     progress: @escaping @Sendable (BerthAPI.PullProgress) -> Void) async throws -> PullResult {
        let client = credentials.map { RegistryClient(configuration: registryConfiguration, credentials: $0) } ?? registry
        let platform = platform ?? .host
        let lease = "pull-" + Digest.sha256(of: Array("\(ref) \(Self.now()) \(getpid())".utf8)).short
        try leases.create(id: lease, now: Self.now(), ttlNanos: Self.leaseTTL)
        defer { try? leases.delete(lease) }

        // The target (manifest or index) and, for an index, the platform's manifest. For the
        // default registry, its mirrors are asked first, in order: the first that has the
        // target serves the whole pull (Docker's rule); the registry itself comes last.
        var target: Descriptor?
        var source = ref
        let mirrors = registryConfiguration.mirrorHosts(for: ref.domain)
        // A mirror gets one attempt: one that is down must not hold the pull up for the
        // registry's retries; the registry itself gets them all.
        var once = registryConfiguration
        once.maxAttempts = 1
        let probe = mirrors.isEmpty ? client : RegistryClient(configuration: once, credentials: credentials ?? self.credentials)
        for host in mirrors + [ref.domain] {
            source = ref
            source.domain = host
            do {
                let (desc, bytes) = try await (host == ref.domain ? client : probe).fetchManifest(source)
                try leases.add(lease, .content, desc.digest.description)
                _ = try content.put(bytes, mediaType: desc.mediaType, expected: desc.digest)
                target = desc
                break
            } catch let e as RegistryError {
                if case .cancelled = e { throw Self.apiError(e, ref) }
                if host == ref.domain { throw Self.apiError(e, ref) }
            }
        }
        guard let target else { throw BerthError(.internal, "no endpoint for \(ref)") }
        // As Docker: this line once the registry has the image.
        progress(BerthAPI.PullProgress(status: "\(ref.tag ?? ref.digest?.description ?? Reference.defaultTag): Pulling from \(ref.path)"))
        var manifestDesc = target
        if MediaType.isIndex(target.mediaType) {
            let index = try JSONDecoder().decode(Index.self, from: Data(try content.read(target.digest)))
            guard let d = index.manifest(for: platform) else {
                throw BerthError(.notFound, "no matching manifest for \(platform) in the manifest list entries")
            }
            do {
                let (desc, bytes) = try await client.fetchManifest(source, expected: d)
                try leases.add(lease, .content, desc.digest.description)
                _ = try content.put(bytes, mediaType: desc.mediaType, expected: desc.digest)
                manifestDesc = desc
            } catch let e as RegistryError { throw Self.apiError(e, ref) }
        }
        guard case .manifest(let manifest) = try ImageDocument.decode(try content.read(manifestDesc.digest), mediaType: manifestDesc.mediaType) else {
            throw BerthError(.invalidArgument, "\(manifestDesc.digest) is not an image manifest")
        }
        try leases.add(lease, .content, manifest.config.digest.description)
        do { try await client.fetchBlob(manifest.config, from: source, into: content) } catch let e as RegistryError { throw Self.apiError(e, ref) }
        let config = try ImageDocument.decodeConfig(try content.read(manifest.config.digest))
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw BerthError(.invalidArgument, "image \(ref.familiarString) has \(manifest.layers.count) layers but its config lists \(diffIDs.count) diff_ids")
        }
        let chain = ChainID.chain(diffIDs)
        for (i, l) in manifest.layers.enumerated() {
            try leases.add(lease, .content, l.digest.description)
            try leases.add(lease, .snapshot, chain[i].description)
        }

        try await fetchAndUnpack(layers: manifest.layers, diffIDs: diffIDs, chain: chain, from: source, client: client,
                                 lease: lease, progress: progress)

        let name = Self.recordName(ref)
        let now = Self.now()
        let previous = try images.get(name: name)
        try images.put(ImageRecord(name: name, target: target, configDigest: manifest.config.digest,
                                   createdAt: previous?.createdAt ?? now, updatedAt: now, labels: [ImageRecord.sourceLabel: "registry"]))
        let changed = previous?.target.digest != target.digest || previous?.configDigest != manifest.config.digest
        progress(BerthAPI.PullProgress(status: "Digest: \(target.digest)"))
        progress(BerthAPI.PullProgress(status: changed ? "Status: Downloaded newer image for \(ref.familiarString)"
                                           : "Status: Image is up to date for \(ref.familiarString)"))
        return PullResult(name: name, digest: target.digest, imageID: manifest.config.digest, changed: changed)
    }

    /// Downloads the layers (three at a time, in order) and unpacks each into
    /// its snapshot as its bytes arrive; unpacks are sequential, each on top of
    /// the one below, on threads of their own.
    func fetchAndUnpack(layers: [Descriptor], diffIDs: [Digest], chain: [Digest], from ref: Reference, client: RegistryClient,
                        lease: String, progress: @escaping @Sendable (BerthAPI.PullProgress) -> Void) async throws {
        let n = layers.count
        var needsBlob = [Bool](), needsUnpack = [Bool]()
        for i in 0..<n {
            let haveSnapshot = try snapshotter.exists(chain[i].description)
            needsUnpack.append(!haveSnapshot)
            needsBlob.append(!content.has(layers[i].digest))
            if haveSnapshot && !needsBlob[i] { progress(BerthAPI.PullProgress(id: layers[i].digest.short, status: "Already exists")) }
            else { progress(BerthAPI.PullProgress(id: layers[i].digest.short, status: "Pulling fs layer")) }
        }
        let feeds = (0..<n).map { _ in LayerFeed() }
        let gates = UnpackGates(count: n)
        let unpackNeeded = needsUnpack, blobNeeded = needsBlob

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Unpackers: each waits for the layer below, then drains its feed (or the blob).
            for i in 0..<n where unpackNeeded[i] {
                group.addTask {
                    do {
                        try await BlockingThread.run {
                            do { try gates.waitFor(i - 1) } catch { throw FollowOnError(cause: error) }
                            try self.unpackLayer(i, layers[i], diffID: diffIDs[i], chain: chain, feed: blobNeeded[i] ? feeds[i] : nil,
                                                 lease: lease, progress: progress)
                            gates.open(i)
                        }
                    } catch {
                        feeds[i].abandon()
                        gates.fail((error as? FollowOnError)?.cause ?? error)
                        throw error
                    }
                }
            }
            for i in 0..<n where !unpackNeeded[i] { gates.open(i) }
            // Downloads, at most three at a time, started in layer order.
            let limit = registryConfiguration.maxConcurrentDownloads
            let wanted = (0..<n).filter { blobNeeded[$0] }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { downloads in
                    var running = 0
                    for i in wanted {
                        if running == limit { try await downloads.next(); running -= 1 }
                        let layer = layers[i], feed = unpackNeeded[i] ? feeds[i] : nil
                        downloads.addTask {
                            try await self.download(layer, from: ref, client: client, feed: feed, progress: progress)
                        }
                        running += 1
                    }
                    try await downloads.waitForAll()
                }
            }
            // The error reported is the one that started the failure (a download's, an
            // unpack's), not one of those it caused in the other tasks.
            var first: (any Error)?, followOn: (any Error)?
            while let result = await group.nextResult() {
                guard case .failure(let error) = result else { continue }
                if let f = error as? FollowOnError {
                    if followOn == nil { followOn = f.cause }
                } else if first == nil {
                    first = error
                }
                group.cancelAll()
            }
            if let error = first ?? followOn { throw error }
        }
    }

    /// One layer's download, its bytes streamed into `feed` (its unpacker) as they arrive.
    func download(_ layer: Descriptor, from ref: Reference, client: RegistryClient, feed: LayerFeed?,
                  progress: @escaping @Sendable (BerthAPI.PullProgress) -> Void) async throws {
        let last = Mutex<Int64>(-1)
        let report: ProgressHandler = { p in
            // Docker's words for a layer; byte counts at most every 512 KiB.
            if p.state == .downloading {
                let skip = last.withLock { l in
                    if p.current - l < 512 << 10 && p.current < p.total { return true }
                    l = p.current
                    return false
                }
                if skip { return }
            }
            progress(BerthAPI.PullProgress(id: layer.digest.short, status: p.state.rawValue,
                               current: p.state == .downloading ? p.current : nil,
                               total: p.state == .downloading ? p.total : nil))
        }
        do {
            var consumer: BlobConsumer?
            if let feed { consumer = { bytes in try feed.push(bytes) } }
            let r = try await client.fetchBlob(layer, from: ref, into: content, progress: report, consumer: consumer)
            if r == .alreadyExists { feed?.finishFromBlob() } else { feed?.finish() }
        } catch RegistryError.consumer(let m) {
            // The unpacker gave up on this layer and reports why itself.
            throw FollowOnError(cause: BerthError(.internal, m))
        } catch let e as RegistryError {
            feed?.finish(Self.apiError(e, ref))
            throw Self.apiError(e, ref)
        } catch {
            feed?.finish(error)
            throw error
        }
    }

    /// Unpacks layer `i` into an active snapshot on top of chain[i-1] and
    /// commits it as chain[i]; the active snapshot is removed on any failure.
    func unpackLayer(_ i: Int, _ layer: Descriptor, diffID: Digest, chain: [Digest], feed: LayerFeed?, lease: String,
                     progress: @escaping @Sendable (BerthAPI.PullProgress) -> Void) throws {
        // Nil: another pull of an image sharing this layer committed it meanwhile.
        guard let pending = try PendingLayer.begin(chainID: chain[i].description, parent: i == 0 ? nil : chain[i - 1].description,
                                                   diffID: diffID, on: snapshotter) else {
            feed?.abandon()
            progress(BerthAPI.PullProgress(id: layer.digest.short, status: "Pull complete"))
            return
        }
        try leases.add(lease, .snapshot, pending.key)
        do {
            let dir = pending.directory
            let options = pending.options
            progress(BerthAPI.PullProgress(id: layer.digest.short, status: "Extracting"))
            if let feed {
                var chunk: [UInt8] = []
                var at = 0
                var blobFD: Int32 = -1
                defer { if blobFD >= 0 { close(blobFD) } }
                let blobPath = content.path(of: layer.digest)
                _ = try LayerUnpacker.apply(to: dir, options: options) { buf in
                    if blobFD >= 0 {
                        let r = read(blobFD, buf.baseAddress, buf.count)
                        if r < 0 { throw BerthError(.internal, "read \(blobPath): \(String(cString: strerror(errno)))") }
                        return r
                    }
                    while at == chunk.count {
                        // The feed's error is its download's, which that task reports.
                        let next: [UInt8]?
                        do { next = try feed.next() } catch { throw FollowOnError(cause: error) }
                        guard let c = next else {
                            // Found in the store when its download began (another pull
                            // committed it): nothing came through the feed; read the blob.
                            if feed.usesBlob {
                                blobFD = open(blobPath, O_RDONLY | O_CLOEXEC)
                                if blobFD < 0 { throw BerthError(.internal, "open \(blobPath): \(String(cString: strerror(errno)))") }
                                let r = read(blobFD, buf.baseAddress, buf.count)
                                return max(0, r)
                            }
                            return 0
                        }
                        chunk = c
                        at = 0
                    }
                    let k = min(buf.count, chunk.count - at)
                    chunk.withUnsafeBytes { src in buf.baseAddress!.copyMemory(from: src.baseAddress! + at, byteCount: k) }
                    at += k
                    return k
                }
            } else {
                // The blob was in the store already.
                _ = try LayerUnpacker.apply(file: content.path(of: layer.digest), to: dir, options: options)
            }
            try pending.commit()
        } catch let e as UnpackError {
            Self.discard(pending, feed: feed)
            // Docker's words; the message names the entry and the errno.
            let code: BerthError.Code
            switch e.code {
            case .system: code = .internal
            case .cancelled: code = .canceled
            case .invalidArchive, .diffIDMismatch, .unsafeEntry: code = .invalidArgument
            }
            throw BerthError(code, "failed to register layer: \(e.message)")
        } catch {
            Self.discard(pending, feed: feed)
            throw error
        }
        progress(BerthAPI.PullProgress(id: layer.digest.short, status: "Pull complete"))
    }

    /// Throws away a failed extraction. The download stops feeding it first, and its files go
    /// before its record: on a full disk, SQLite needs room for its journal to delete the
    /// record, and a failed removal would leave an active snapshot behind.
    static func discard(_ pending: PendingLayer, feed: LayerFeed?) {
        feed?.abandon()
        removeContents(of: pending.directory)
        pending.abort()
    }

    /// Deletes everything under `path` (not following symlinks), keeping `path`; best effort.
    static func removeContents(of path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        removeContents(fd)
    }

    /// Empties the directory `fd` and closes it.
    private static func removeContents(_ fd: Int32) {
        guard let dir = fdopendir(fd) else { close(fd); return }
        defer { closedir(dir) }
        var names: [(String, Bool)] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            names.append((name, e.pointee.d_type == UInt8(DT_DIR)))
        }
        for (name, isDir) in names {
            if isDir {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { removeContents(child) }
                unlinkat(fd, name, AT_REMOVEDIR)
            } else if unlinkat(fd, name, 0) != 0 && errno == EISDIR {
                // A filesystem that does not fill in d_type.
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { removeContents(child) }
                unlinkat(fd, name, AT_REMOVEDIR)
            }
        }
    }

    /// A registry's failure as the API reports it.
    static func apiError(_ e: RegistryError, _ ref: Reference) -> BerthError {
        let text = "\(e)"
        switch e {
        case .unauthorized, .denied: return BerthError(.unauthorized, text)
        case .notFound, .noMatchingPlatform: return BerthError(.notFound, text)
        case .content(.noSpace): return BerthError(.resourceExhausted, text)
        case .invalidReference, .content: return BerthError(.invalidArgument, text)
        case .cancelled: return BerthError(.canceled, text)
        case .consumer: return BerthError(.internal, text)
        case .http, .transport, .tls, .invalidResponse: return BerthError(.unavailable, text)
        }
    }
}

/// An error caused by another task's failure (a layer below that failed, a download whose
/// unpacker gave up): a pull reports the failure that started it instead.
struct FollowOnError: Error, CustomStringConvertible {
    let cause: any Error
    var description: String { "\(cause)" }
}

/// Layer i may be unpacked once layer i-1 is committed; a failure anywhere stops the rest.
final class UnpackGates: @unchecked Sendable {
    // Guarded by `mutex`, signalled through `cond`.
    private var opened: [Bool]
    private var error: String?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(count: Int) {
        opened = [Bool](repeating: false, count: count)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    private func change(_ body: () -> Void) {
        pthread_mutex_lock(mutex)
        body()
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    func open(_ i: Int) { change { opened[i] = true } }

    func fail(_ e: any Error) { change { error = "\(e)" } }

    /// Returns when layer `i` is committed (at once for i < 0); throws when a layer failed.
    func waitFor(_ i: Int) throws {
        guard i >= 0 else { return }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !opened[i] {
            if let error { throw BerthError(.internal, "stopped: \(error)") }
            pthread_cond_wait(cond, mutex)
        }
    }
}
