import Testing
import Synchronization
import Content
@testable import Registry
#if canImport(Glibc)
import Glibc
#endif

/// The registry client against a real docker-registry on 127.0.0.1 (and a fake one for faults).
@Suite struct RegistryTests {
    static var toolsPresent: Bool {
        let ok = TestRegistry.available && TestImageBuilder.busyboxAvailable
        if !ok { print("skipped: needs docker-registry, /bin/busybox (busybox-static), tar and gzip") }
        return ok
    }

    func store() throws -> ContentStore { try ContentStore(root: Subprocess.tempDir("store")) }

    func busyboxImage(in store: ContentStore, platform: Platform = .host, docker: Bool = false, marker: String = "1") throws -> TestImageBuilder.Image {
        let rootfs = try TestImageBuilder.busyboxRootfs(extra: ["etc/marker": marker])
        defer { Subprocess.run(["rm", "-rf", rootfs]) }
        let extraDir = Subprocess.tempDir("extra")
        defer { Subprocess.run(["rm", "-rf", extraDir]) }
        try Subprocess.writeFile(extraDir + "/hello.txt", "hello from \(platform)\n")
        let layers = [try TestImageBuilder.layer(from: rootfs, into: store, docker: docker),
                      try TestImageBuilder.layer(from: extraDir, into: store, docker: docker)]
        return try TestImageBuilder.image(layers: layers, into: store, platform: platform, docker: docker)
    }

    func sha256(ofBlob d: Digest, in store: ContentStore) throws -> Digest {
        var h = Hasher256()
        try store.read(d) { h.update($0) }
        return h.finalize()
    }

    @Test func pushThenPullByTagAndByDigest() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let image = try busyboxImage(in: source)
        let client = RegistryClient()
        let ref = try client.parse("\(registry.host)/berth/busybox:1.0")
        let states = Mutex<Set<String>>([])
        let pushed = try await client.push(image.manifest, from: source, to: ref, progress: { p in
            _ = states.withLock { $0.insert(p.state.rawValue) }
        })
        #expect(pushed.digest == image.manifest.digest)
        #expect(states.withLock { $0.isSuperset(of: ["Preparing", "Pushing", "Pushed"]) })

        let resolved = try await client.resolve(ref)
        #expect(resolved.digest == image.manifest.digest && resolved.mediaType == MediaType.ociManifest)

        let target = try store()
        let pulled = try await client.pull(ref, into: target)
        #expect(pulled.manifestDescriptor.digest == image.manifest.digest)
        #expect(pulled.index == nil)
        #expect(pulled.config.rootfs.diffIDs.count == 2 && pulled.config.config?.cmd == ["/bin/sh"])
        for layer in image.layers {
            #expect(target.has(layer.digest))
            #expect(try sha256(ofBlob: layer.digest, in: target) == layer.digest)
        }
        #expect(pulled.layerResults.allSatisfy { if case .downloaded = $0 { true } else { false } })

        // By digest; the layers are now already there.
        let again = try await client.pull(try client.parse("\(registry.host)/berth/busybox@\(image.manifest.digest)"), into: target,
                                          options: PullOptions(progress: { p in _ = states.withLock { $0.insert(p.state.rawValue) } }))
        #expect(again.manifestDescriptor.digest == image.manifest.digest)
        #expect(again.layerResults.allSatisfy { $0 == .alreadyExists })
        #expect(states.withLock { $0.contains("Already exists") })

        // An unknown tag is a clear not-found.
        await #expect { try await client.pull(try client.parse("\(registry.host)/berth/busybox:nope"), into: target) } throws: { e in
            guard case RegistryError.notFound(let m) = e else { return false }
            return m.contains("berth/busybox:nope") && m.contains("manifest unknown")
        }
    }

    @Test func dockerSchema2MediaTypes() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let image = try busyboxImage(in: source, docker: true)
        let client = RegistryClient()
        let ref = try client.parse("\(registry.host)/docker/busybox:v2")
        try await client.push(image.manifest, from: source, to: ref)
        let target = try store()
        let pulled = try await client.pull(ref, into: target)
        #expect(pulled.target.mediaType == MediaType.dockerManifest)
        #expect(pulled.manifest.config.mediaType == MediaType.dockerConfig)
        #expect(pulled.manifest.layers.allSatisfy { $0.mediaType == MediaType.dockerLayerGzip })
        #expect(pulled.manifestDescriptor.digest == image.manifest.digest)
    }

    @Test func indexWithTwoPlatformsAndAnImagePushedBySkopeo() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let amd = try busyboxImage(in: source, platform: try Platform(parsing: "linux/amd64"), marker: "amd64")
        let arm = try busyboxImage(in: source, platform: try Platform(parsing: "linux/arm64/v8"), marker: "arm64")
        let index = try TestImageBuilder.index([(amd.manifest, try Platform(parsing: "linux/amd64")),
                                                (arm.manifest, Platform(os: "linux", architecture: "arm64", variant: "v8"))],
                                               into: source)
        let client = RegistryClient()
        let ref = try client.parse("\(registry.host)/multi/busybox:latest")
        try await client.push(index, from: source, to: ref)

        let target = try store()
        let armPull = try await client.pull(ref, into: target, options: PullOptions(platform: try Platform(parsing: "linux/arm64")))
        #expect(armPull.target.digest == index.digest && armPull.index?.manifests.count == 2)
        #expect(armPull.manifestDescriptor.digest == arm.manifest.digest)
        #expect(armPull.config.architecture == "arm64")
        let amdPull = try await client.pull(ref, into: target, options: PullOptions(platform: try Platform(parsing: "linux/amd64")))
        #expect(amdPull.manifestDescriptor.digest == amd.manifest.digest)
        await #expect { try await client.pull(ref, into: target, options: PullOptions(platform: try Platform(parsing: "linux/s390x"))) } throws: { e in
            "\(e)".contains("no matching manifest for linux/s390x")
        }

        // The same index copied by skopeo from an OCI layout, pulled back unchanged.
        guard Subprocess.which("skopeo") else { print("skipped skopeo part: skopeo not installed"); return }
        let layout = Subprocess.tempDir("layout")
        defer { Subprocess.run(["rm", "-rf", layout]) }
        try TestImageBuilder.writeOCILayout(index, from: source, to: layout)
        let r = Subprocess.run(["skopeo", "copy", "--all", "--dest-tls-verify=false", "oci:\(layout):latest",
                                "docker://\(registry.host)/skopeo/busybox:multi"])
        #expect(r.status == 0, "\(r.output)")
        let viaSkopeo = try await client.pull(try client.parse("\(registry.host)/skopeo/busybox:multi"), into: try store(),
                                              options: PullOptions(platform: try Platform(parsing: "linux/arm64")))
        #expect(viaSkopeo.target.digest == index.digest)
        #expect(viaSkopeo.manifestDescriptor.digest == arm.manifest.digest)
    }

    @Test func chunkedAndMonolithicUploadsAndCrossRepositoryMount() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let big = try TestImageBuilder.randomLayer(megabytes: 5, into: source)
        let image = try TestImageBuilder.image(layers: [big], into: source)
        var config = RegistryConfiguration()
        config.monolithicUploadLimit = 1 << 20
        config.uploadChunkSize = 1 << 20
        let chunked = RegistryClient(configuration: config)
        let ref = try chunked.parse("\(registry.host)/up/chunked:1")
        let result = try await chunked.pushBlob(big.descriptor, from: source, to: ref)
        #expect(result == .pushed)
        #expect(try await chunked.pushBlob(big.descriptor, from: source, to: ref) == .alreadyExists)
        try await chunked.push(image.manifest, from: source, to: ref)

        let plain = RegistryClient()
        let mono = try plain.parse("\(registry.host)/up/mono:1")
        #expect(try await plain.pushBlob(image.config, from: source, to: mono) == .pushed)

        let mountedRef = try plain.parse("\(registry.host)/up/mounted:1")
        let states = Mutex<[String]>([])
        let mounted = try await plain.pushBlob(big.descriptor, from: source, to: mountedRef, mountFrom: ref,
                                               progress: { p in states.withLock { $0.append(p.state.rawValue + (p.detail.map { " " + $0 } ?? "")) } })
        #expect(mounted == .mounted(from: "up/chunked"))
        #expect(states.withLock { $0.contains("Mounted from up/chunked") })

        // Everything pulls back with the same digests.
        let target = try store()
        try await plain.fetchBlob(big.descriptor, from: mountedRef, into: target)
        #expect(try sha256(ofBlob: big.descriptor.digest, in: target) == big.descriptor.digest)
        let pulled = try await plain.pull(ref, into: try store())
        #expect(pulled.manifestDescriptor.digest == image.manifest.digest)
    }

    @Test func concurrentFetchesOfOneBlobShareOneDownload() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let layer = try TestImageBuilder.randomLayer(megabytes: 20, into: source)
        let client = RegistryClient()
        let ref = try client.parse("\(registry.host)/shared/blob:1")
        try await client.pushBlob(layer.descriptor, from: source, to: ref)
        let target = try store()
        let consumed = Tally(4)
        let results = try await withThrowingTaskGroup(of: BlobFetchResult.self) { group in
            for i in 0..<4 {
                group.addTask {
                    try await client.fetchBlob(layer.descriptor, from: ref, into: target, consumer: { b in
                        consumed.add(b.count, at: i)
                    })
                }
            }
            return try await group.reduce(into: [BlobFetchResult]()) { $0.append($1) }
        }
        #expect(results.filter { if case .downloaded = $0 { true } else { false } }.count == 1)
        #expect(results.filter { $0 == .joined }.count + results.filter { $0 == .alreadyExists }.count == 3)
        // Every consumer that was not told "already exists" saw the whole blob.
        let sizes = consumed.values
        #expect(sizes.filter { $0 == Int(layer.descriptor.size) }.count == results.filter { $0 != .alreadyExists }.count)
        #expect(try sha256(ofBlob: layer.descriptor.digest, in: target) == layer.descriptor.digest)
    }

    @Test func registryKilledMidBlobThenRestartedResumesWithRange() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let layer = try TestImageBuilder.randomLayer(megabytes: 48, into: source)
        let ref = try Reference.parse("\(registry.host)/faults/big:1")
        try await RegistryClient().pushBlob(layer.descriptor, from: source, to: ref)
        let size = layer.descriptor.size

        // 1. One attempt only: the kill fails the fetch, and the partial ingest stays on disk.
        var once = RegistryConfiguration()
        once.maxAttempts = 1
        let target = try store()
        await #expect(throws: RegistryError.self) {
            try await RegistryClient(configuration: once).fetchBlob(layer.descriptor, from: ref, into: target, consumer: { _ in },
                                                                    killAfter: 8 << 20, registry: registry, killed: OnceFlag())
        }
        #expect(!target.has(layer.descriptor.digest))
        let partial = try target.ingests().first?.offset ?? 0
        #expect(partial >= 8 << 20 && partial < size)

        // 2. A new client (a restarted daemon) resumes that ingest with Range once the registry is back.
        try registry.start()
        let hasher = SharedHasher()
        let seen = Counter()
        let resumed = try await RegistryClient().fetchBlob(layer.descriptor, from: ref, into: target, consumer: { b in
            hasher.update(b)
            seen.add(b.count)
        })
        #expect(resumed == .downloaded(resumedFrom: partial))
        #expect(seen.value == Int(size)) // the consumer still saw every byte, from 0
        #expect(hasher.digest == layer.descriptor.digest)
        #expect(try sha256(ofBlob: layer.descriptor.digest, in: target) == layer.descriptor.digest)

        // 3. Killed and restarted during one fetch: the client's retries resume it by themselves.
        let again = try store()
                let retries = Counter()
        let result = try await RegistryClient().fetchBlob(layer.descriptor, from: ref, into: again, progress: { p in
            if p.state == .retrying { retries.add(1) }
        }, consumer: { _ in }, killAfter: 16 << 20, registry: registry, killed: OnceFlag(), restartAfter: 0.5)
        #expect(result == .downloaded(resumedFrom: 0))
        #expect(retries.value >= 1)
        #expect(try sha256(ofBlob: layer.descriptor.digest, in: again) == layer.descriptor.digest)
    }

    @Test func faultsFromAMisbehavingRegistry() async throws {
        guard HelperServer.available else { print("skipped: needs python3 and openssl"); return }
        let fake = try HelperServer.fakeRegistry()
        let client = RegistryClient()
        let target = try store()

        // A blob whose bytes do not match its digest: rejected, nothing committed, nothing left over.
        let wanted = Descriptor(mediaType: MediaType.ociLayerGzip, bytes: Array("the real layer".utf8))
        let claimed = Descriptor(mediaType: wanted.mediaType, digest: wanted.digest, size: 44_000)
        await #expect { try await client.fetchBlob(claimed, from: try Reference.parse("127.0.0.1:\(fake.port)/bad/x"), into: target) } throws: { e in
            guard case RegistryError.content(.digestMismatch(let expected, let actual)) = e else { return false }
            return expected == wanted.digest && actual != wanted.digest
                && "\(e)".contains("expected \(wanted.digest)") && "\(e)".contains("got sha256:")
        }
        #expect(try target.list().isEmpty && target.ingests().isEmpty)

        // Schema 1 is refused with a message that says so.
        await #expect { try await client.pull(try Reference.parse("127.0.0.1:\(fake.port)/schema1/app:latest"), into: target) } throws: { e in
            "\(e)".contains("schema 1") && "\(e)".contains("not supported")
        }

        // A blob redirected to storage is followed (without our credentials).
        let body = Array(String(repeating: "served after a redirect\n", count: 1000).utf8)
        let redirected = Descriptor(mediaType: MediaType.ociLayer, bytes: body)
        let r = try await client.fetchBlob(redirected, from: try Reference.parse("127.0.0.1:\(fake.port)/redirect/x"), into: target)
        #expect(r == .downloaded(resumedFrom: 0))
        #expect(try target.read(redirected.digest) == body)
    }

    @Test func pullSpeedFromTheLoopbackRegistry() async throws {
        guard Self.toolsPresent else { return }
        let registry = try TestRegistry()
        let source = try store()
        let random = try TestImageBuilder.randomLayer(megabytes: 100, into: source)
        let rootfs = try TestImageBuilder.busyboxRootfs()
        defer { Subprocess.run(["rm", "-rf", rootfs]) }
        let small = try TestImageBuilder.layer(from: rootfs, into: source)
        let image = try TestImageBuilder.image(layers: [small, random], into: source)
        let client = RegistryClient()
        let ref = try client.parse("\(registry.host)/bench/big:1")
        try await client.push(image.manifest, from: source, to: ref)
        let total = Double(image.layers.reduce(0) { $0 + $1.size })
        let start = ContinuousClock.now
        let pulled = try await client.pull(ref, into: try store())
        let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
        #expect(pulled.manifestDescriptor.digest == image.manifest.digest)
        print("pull: \(Int(total / 1e6)) MB in \(seconds) s = \(Int(total / 1e6 / seconds)) MB/s")
    }
}

extension RegistryClient {
    /// fetchBlob with a consumer that kills the registry once `killAfter` bytes went by (and,
    /// with `restartAfter`, starts it again that many seconds later from another thread).
    func fetchBlob(_ d: Descriptor, from ref: Reference, into store: ContentStore, progress: ProgressHandler? = nil,
                   consumer: @escaping BlobConsumer, killAfter: Int, registry: TestRegistry, killed: OnceFlag,
                   restartAfter: Double? = nil) async throws -> BlobFetchResult {
        let seen = Counter()
        return try await fetchBlob(d, from: ref, into: store, progress: progress, consumer: { b in
            try consumer(b)
            let total = seen.add(b.count)
            if total >= killAfter, killed.claim() {
                registry.kill()
                if let delay = restartAfter {
                    Task.detached {
                        try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                        try registry.start()
                    }
                }
            }
        })
    }
}

/// Set once, from any thread.
final class OnceFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// True the first time only.
    func claim() -> Bool { !flag.exchange(true, ordering: .relaxed) }
}

/// Per-slot byte counts any thread may add to.
final class Tally: Sendable {
    private let counts: Mutex<[Int]>
    init(_ n: Int) { counts = Mutex([Int](repeating: 0, count: n)) }
    func add(_ n: Int, at i: Int) { counts.withLock { $0[i] += n } }
    var values: [Int] { counts.withLock { $0 } }
}

/// A SHA-256 fed from a transfer thread, read by the test afterwards.
final class SharedHasher: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private var hasher = Hasher256()
    func update(_ b: UnsafeRawBufferPointer) { lock.withLock { _ in hasher.update(b) } }
    var digest: Digest { lock.withLock { _ in hasher.copy().finalize() } }
}
