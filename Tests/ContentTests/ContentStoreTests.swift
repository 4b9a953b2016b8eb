import Testing
import Synchronization
import Content
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ContentStoreTests {
    let root = Subprocess.tempDir("store")

    func bytes(_ n: Int, seed: UInt8 = 1) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    @Test func putInfoReadListDelete() throws {
        let store = try ContentStore(root: root)
        let data = bytes(1000)
        let d = try store.put(data, mediaType: MediaType.ociConfig)
        #expect(store.has(d.digest))
        #expect(try store.info(d.digest).size == 1000)
        #expect(try store.read(d.digest) == data)
        #expect(store.path(of: d.digest) == root + "/content/blobs/sha256/" + d.digest.encoded)
        #expect(try store.list().map(\.digest) == [d.digest])
        var st = stat()
        stat(store.path(of: d.digest), &st)
        #expect(st.st_mode & 0o777 == 0o444)
        try store.delete(d.digest)
        #expect(!store.has(d.digest))
        #expect(throws: ContentError.notFound(d.digest)) { try store.info(d.digest) }
    }

    @Test func ingestResumesAfterARestart() throws {
        let data = bytes(3 << 20)
        let desc = Descriptor(mediaType: MediaType.ociLayer, bytes: data)
        do {
            let store = try ContentStore(root: root)
            let w = try store.writer(ref: "layer-1", expected: desc)
            try w.write(Array(data[0..<1_234_567]))
            w.close() // the process "dies" here, leaving the partial data
        }
        let store = try ContentStore(root: root) // a new process
        #expect(try store.ingests().map(\.offset) == [1_234_567])
        let w = try store.writer(ref: "layer-1", expected: desc)
        #expect(w.offset == 1_234_567)
        try w.write(Array(data[1_234_567...]))
        try w.commit()
        #expect(try store.read(desc.digest) == data)
        #expect(try store.ingests().isEmpty)
    }

    @Test func aClosedWriterUnlocksAtOnceEvenWhileAForkedChildHoldsItsFile() throws {
        // A child forked by another thread (a spawn) keeps a copy of every fd
        // until its exec; the writer's lock must not wait for that exec.
        let data = bytes(4096)
        let desc = Descriptor(mediaType: MediaType.ociLayer, bytes: data)
        let store = try ContentStore(root: root)
        let w = try store.writer(ref: "held", expected: desc)
        try w.write(Array(data[0..<100]))
        let child = fork()
        if child == 0 { usleep(3_000_000); _exit(0) }   // async-signal-safe only: no exec, fds stay
        #expect(child > 0)
        defer { if child > 0 { kill(child, SIGKILL); var st: Int32 = 0; waitpid(child, &st, 0) } }
        w.close()
        let again = try store.writer(ref: "held", expected: desc)
        #expect(again.offset == 100)
        // A second writer on a ref still open is refused.
        #expect(throws: ContentError.ingestLocked(ref: "held")) { _ = try store.writer(ref: "held", expected: desc) }
        try again.write(Array(data[100...]))
        #expect(try again.commit().digest == desc.digest)
    }

    @Test func digestMismatchCommitsNothing() throws {
        let store = try ContentStore(root: root)
        let good = bytes(4096), bad = bytes(4096, seed: 9)
        let desc = Descriptor(mediaType: MediaType.ociLayer, bytes: good)
        let w = try store.writer(ref: "x", expected: desc)
        try w.write(bad)
        #expect { try w.commit() } throws: { error in
            guard case ContentError.digestMismatch(let e, let a) = error else { return false }
            return e == desc.digest && a == Digest.sha256(of: bad) && "\(error)".contains(desc.digest.description)
        }
        #expect(!store.has(desc.digest))
        #expect(try store.list().isEmpty && store.ingests().isEmpty)
        // Too many bytes are refused before they are written.
        let w2 = try store.writer(ref: "y", expected: desc)
        #expect(throws: ContentError.self) { try w2.write(bytes(5000)) }
    }

    @Test func oneWriterPerRef() throws {
        let store = try ContentStore(root: root)
        let desc = Descriptor(mediaType: MediaType.ociLayer, bytes: bytes(10))
        let w = try store.writer(ref: "same", expected: desc)
        #expect(throws: ContentError.ingestLocked(ref: "same")) { try store.writer(ref: "same", expected: desc) }
        w.abort()
        _ = try store.writer(ref: "same", expected: desc)
    }

    @Test func onceSharesOneProducer() async throws {
        let store = try ContentStore(root: root)
        let data = bytes(100)
        let desc = Descriptor(mediaType: MediaType.ociLayer, bytes: data)
        let runs = Counter()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.once(desc.digest) {
                        runs.add(1)
                        try await Task.sleep(for: .milliseconds(200))
                        try store.put(data, mediaType: desc.mediaType)
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(runs.value == 1)
        #expect(results.filter { $0 }.count == 1)
        #expect(store.has(desc.digest))
    }

    @Test func fullDiskGivesAClearErrorAndNoBlob() throws {
        guard getuid() == 0 else { print("skipped: mounting a small tmpfs needs root"); return }
        let mnt = Subprocess.tempDir("full")
        let r = Subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt])
        guard r.status == 0 else { print("skipped: cannot mount tmpfs: \(r.output)"); return }
        defer { Subprocess.run(["umount", mnt]); rmdir(mnt) }
        let store = try ContentStore(root: mnt)
        let data = bytes(3 << 20)
        let desc = Descriptor(mediaType: MediaType.ociLayer, bytes: data)
        let w = try store.writer(ref: "big", expected: desc)
        var failure: ContentError?
        do {
            for start in stride(from: 0, to: data.count, by: 256 << 10) {
                try w.write(Array(data[start..<min(start + (256 << 10), data.count)]))
            }
        } catch { failure = error }
        #expect(failure.map { if case .noSpace = $0 { true } else { false } } == true)
        #expect(failure?.description.contains("no space left on device") == true)
        // The partial file holds exactly what was hashed: nothing beyond the last whole write.
        #expect(w.offset % (256 << 10) == 0)
        w.abort()
        #expect(!store.has(desc.digest))
        #expect(try store.list().isEmpty && store.ingests().isEmpty)
    }
}

/// A counter any thread may bump.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    init() {}
    @discardableResult func add(_ n: Int) -> Int { atomic.add(n, ordering: .relaxed).newValue }
    var value: Int { atomic.load(ordering: .relaxed) }
}
