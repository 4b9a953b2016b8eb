// Faults met through `berth pull` against a running berthd: the registry killed
// mid-layer (then the pull resumes with Range), a full disk, a malicious layer,
// and blobs whose bytes do not match their digests. Each time: one clear error
// line, berthd keeps serving, and nothing half-done is left committed.

import Content
import Foundation
import Glibc
import Registry
import Testing
@testable import Manager

@Suite(.serialized) struct ImageFaultTests {
    @Test func registryKilledMidLayerThenThePullResumes() async throws {
        try ImageFixtures.requireTools(["python3"])
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = Subprocess.tempDir("big-store")
        defer { Subprocess.run(["rm", "-rf", scratch]) }
        let store = try ContentStore(root: scratch)
        let big = try TestImageBuilder.randomLayer(megabytes: 16, into: store)
        let pushed = try await ImageFixtures.push(to: registry.host, "test/big:1", extraLayers: [big], store: store)
        // The registry is reached through a front that sends blobs at 2 MiB/s, so the pull is
        // surely in the middle of the big layer when both are killed.
        let slow = try HelperServer.proxy(to: registry.port, rate: 2 << 20)
        let port = slow.port
        let blob = big.descriptor.digest
        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            let ref = "127.0.0.1:\(port)/test/big:1"
            let pull = try d.berthInBackground(["pull", ref])
            try waitLong("a part of the big layer to arrive") { d.ingestBytes.contains { $0 >= 2 << 20 } }
            slow.kill()
            registry.kill()
            var r = try pull.finish()
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon: ") && r.err.split(separator: "\n").count == 1, "\(r.err)")
            #expect(r.err.contains(blob.description) && r.err.contains("download failed after") && r.err.contains("the next pull resumes"),
                    "the error says what failed: \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: d.root + "/content/blobs/sha256/" + blob.encoded), "no partial blob committed")
            let partial = d.ingestBytes.max() ?? 0
            #expect(partial >= 2 << 20 && partial < big.descriptor.size, "the partial download is kept: \(d.ingestBytes)")
            #expect(try d.berth(["images", "-q"]).out.isEmpty)
            #expect(ImageCommandsTests.find(d.root + "/snapshots", "random.bin") == nil)

            // The registry is back (at full speed): the pull completes, asking only for the rest.
            try registry.start()
            let fast = try HelperServer.proxy(to: registry.port, rate: 0, port: port)
            r = try d.berth(["pull", ref])
            #expect(r.status == 0 && r.out.contains("Digest: \(pushed.manifest)"), "\(r.out) \(r.err)")
            let gets = fast.requests.filter { $0.hasPrefix("GET /v2/test/big/blobs/\(blob) ") }
            #expect(gets.count == 1, "\(fast.requests)")
            let fields = Dictionary(uniqueKeysWithValues: (gets.first ?? "").split(separator: " ").dropFirst(2).compactMap { f -> (String, String)? in
                guard let eq = f.firstIndex(of: "=") else { return nil }
                return (String(f[..<eq]), String(f[f.index(after: eq)...]))
            })
            let from = fields["range"].flatMap { Int64($0.dropFirst("bytes=".count).dropLast()) } ?? 0
            let sent = fields["sent"].flatMap { Int64($0) } ?? -1
            #expect(from >= 2 << 20 && sent == big.descriptor.size - from, "resumed with Range: \(gets)")
            let file = ImageCommandsTests.find(d.root + "/snapshots", "random.bin")
            let size = file.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int64 }
            #expect(size == 16 << 20, "the layer is unpacked whole: \(String(describing: file))")
            #expect(d.ingestBytes.isEmpty, "no partial download is left")
            #expect(try d.stop() == 0)
            withExtendedLifetime(fast) {}
        }
    }

    @Test func fullDiskFailsCleanlyAndThePullWorksOnceThereIsSpace() async throws {
        try ImageFixtures.requireTools(["sqlite3"])
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = Subprocess.tempDir("big-store")
        defer { Subprocess.run(["rm", "-rf", scratch]) }
        let store = try ContentStore(root: scratch)
        let big = try TestImageBuilder.randomLayer(megabytes: 24, into: store)
        let pushed = try await ImageFixtures.push(to: registry.host, "test/big:1", extraLayers: [big], store: store)
        try await offPool {
            // A 96 MiB tmpfs as berthd's root, filled but for about 32 MiB: the 24 MiB layer
            // needs twice that (its blob and its unpacked file).
            let d = try ImageDaemon(tmpfsSize: "96m")
            try d.start()
            let filler = d.root + "/filler"
            #expect(Subprocess.run(["sh", "-c", "head -c 64M /dev/zero > '\(filler)'"]).status == 0)
            let ref = registry.host + "/test/big:1"
            var r = try d.berth(["pull", ref])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon: ") && r.err.split(separator: "\n").count == 1, "\(r.err)")
            #expect(r.err.lowercased().contains("no space left on device"), "\(r.err)")
            #expect(!r.err.contains("image.pull:"), "a daemon error, not an internal one: \(r.err)")
            // berthd still serves, and nothing of the failed layer is committed.
            #expect(d.isRunning)
            r = try d.berth(["images", "-q"])
            #expect(r.status == 0 && r.out.isEmpty, "\(r.out) \(r.err)")
            #expect(d.sql("SELECT count(*) FROM images") == "0")
            #expect(d.sql("SELECT count(*) FROM snapshots WHERE kind != 'committed'") == "0", "no extraction snapshot is left")
            #expect(Int(d.sql("SELECT count(*) FROM snapshots WHERE kind = 'committed'")) ?? 9 <= 1, "at most the busybox layer")
            #expect(ImageCommandsTests.find(d.root + "/snapshots", "random.bin") == nil)
            // The layer's blob may have arrived whole before its unpack failed; then it is verified.
            let blobPath = d.root + "/content/blobs/sha256/" + big.descriptor.digest.encoded
            if FileManager.default.fileExists(atPath: blobPath) {
                #expect(try TestImageBuilder.digest(ofFile: blobPath) == big.descriptor.digest)
            }
            #expect(try d.berth(["info"]).status == 0)

            // Space again: the same pull succeeds.
            unlink(filler)
            r = try d.berth(["pull", ref])
            #expect(r.status == 0 && r.out.contains("Digest: \(pushed.manifest)"), "\(r.out) \(r.err)")
            let file = ImageCommandsTests.find(d.root + "/snapshots", "random.bin")
            let size = file.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int64 }
            #expect(size == 24 << 20)
            #expect(d.sql("SELECT count(*) FROM snapshots WHERE kind = 'committed'") == "2")
            #expect(try d.stop() == 0)
        }
    }

    @Test func maliciousLayersStayInsideTheirSnapshot() async throws {
        try ImageFixtures.requireTools(["python3"])
        let registry = try TestRegistry()
        defer { registry.stop() }
        // A directory outside berthd's root that the layers aim at, holding one file of the host's.
        let outside = Subprocess.tempDir("escape")
        defer { Subprocess.run(["rm", "-rf", outside]) }
        try Subprocess.writeFile(outside + "/victim", "host\n")
        let rel = String(outside.dropFirst())
        let scratch = Subprocess.tempDir("evil-store")
        defer { Subprocess.run(["rm", "-rf", scratch]) }
        let store = try ContentStore(root: scratch)
        let up = String(repeating: "../", count: 12)
        let paths = try Self.evilLayer(into: store, scratch: scratch, entries: [
            ["file", up + rel + "/dotdot", "dotdot\n"],
            ["file", "/" + rel + "/absolute", "absolute\n"],
            ["symlink", "abslink", "/" + rel],
            ["file", "abslink/via-absolute-symlink", "absolute symlink\n"],
            ["symlink", "rellink", up + rel],
            ["file", "rellink/via-relative-symlink", "relative symlink\n"],
            ["symlink", "victimlink", "/" + rel + "/victim"],
            ["file", "victimlink", "written over a symlink\n"],
            ["symlink", "deep/a", "../../../../../.."],
            ["file", "deep/a/" + rel + "/via-dotdot-symlink", "dotdot symlink\n"],
        ])
        let links = try Self.evilLayer(into: store, scratch: scratch, entries: [
            ["hardlink", "hard", "/" + rel + "/victim"],
            ["hardlink", "hard2", up + rel + "/victim"],
        ])
        try await ImageFixtures.push(to: registry.host, "test/evil:paths", extraLayers: [paths], store: store)
        try await ImageFixtures.push(to: registry.host, "test/evil:links", extraLayers: [links], store: store)

        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            // Path and symlink escapes are contained: each lands inside the layer's snapshot.
            var r = try d.berth(["pull", registry.host + "/test/evil:paths"])
            #expect(r.status == 0, "\(r.out) \(r.err)")
            for name in ["dotdot", "absolute", "via-absolute-symlink", "via-relative-symlink", "via-dotdot-symlink"] {
                let found = ImageCommandsTests.find(d.root + "/snapshots", rel + "/" + name)
                #expect(found != nil, "\(name) is inside the snapshot")
            }
            let over = ImageCommandsTests.find(d.root + "/snapshots", "victimlink")
            #expect(over.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } == "written over a symlink\n")
            // Hardlinks to files outside the layer: refused with one line, or contained; never a link to the host's file.
            r = try d.berth(["pull", registry.host + "/test/evil:links"])
            #expect(r.status == 0 || (r.err.hasPrefix("Error response from daemon: failed to register layer: ")
                                      && r.err.split(separator: "\n").count == 1), "\(r.err)")
            // Nothing outside changed.
            #expect(ImageCommandsTests.files(outside) == ["victim"], "\(ImageCommandsTests.files(outside))")
            #expect((try? String(contentsOfFile: outside + "/victim", encoding: .utf8)) == "host\n")
            var st = stat()
            stat(outside + "/victim", &st)
            #expect(st.st_nlink == 1, "no hardlink to the host's file")
            #expect(try d.berth(["info"]).status == 0)
            #expect(try d.stop() == 0)
        }
    }

    @Test func blobsThatDoNotMatchTheirDigestAreRefused() async throws {
        try ImageFixtures.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let pushed = try await ImageFixtures.push(to: registry.host, "test/tampered:1", layers: [["etc/motd": "genuine\n"]])
        let layer = pushed.layers[1].digest
        // The registry's copy of the second layer is replaced by other bytes of the same size.
        let path = ImageFixtures.registryBlobPath(registry, layer)
        let size = Int(pushed.layers[1].size)
        try Subprocess.writeFile(path, [UInt8](repeating: 0x42, count: size))
        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            let repo = registry.host + "/test/tampered"
            var r = try d.berth(["pull", repo + ":1"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon: ") && r.err.split(separator: "\n").count == 1, "\(r.err)")
            #expect(r.err.contains("digest mismatch") && r.err.contains(layer.description), "\(r.err)")
            #expect(!FileManager.default.fileExists(atPath: d.root + "/content/blobs/sha256/" + layer.encoded), "the bad blob is not stored")
            #expect(d.ingestBytes.isEmpty, "nor kept as a partial download: \(d.ingestBytes)")
            #expect(ImageCommandsTests.find(d.root + "/snapshots", "etc/motd") == nil, "nor unpacked")
            #expect(try d.berth(["images", "-q"]).out.isEmpty)

            // A manifest whose bytes are not those of the digest asked for.
            let manifestPath = ImageFixtures.registryBlobPath(registry, pushed.manifest)
            var bytes = try Subprocess.readAll(manifestPath)
            bytes.append(10)
            try Subprocess.writeFile(manifestPath, bytes)
            let before = ImageCommandsTests.files(d.root + "/content/blobs/sha256")
            r = try d.berth(["pull", repo + "@" + pushed.manifest.description])
            #expect(r.status == 1 && r.err.contains("digest mismatch") && r.err.split(separator: "\n").count == 1, "\(r.err)")
            #expect(ImageCommandsTests.files(d.root + "/content/blobs/sha256") == before, "nothing new is stored")
            #expect(try d.berth(["images", "-q"]).out.isEmpty)
            #expect(try d.stop() == 0)
        }
    }

    /// An uncompressed layer written by Python's tarfile with entries no honest tool makes:
    /// [kind, name, content or link target] with kind file, symlink or hardlink.
    static func evilLayer(into store: ContentStore, scratch: String, entries: [[String]]) throws -> TestImageBuilder.Layer {
        let script = """
            import io, json, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
                for kind, name, value in json.load(open(sys.argv[2])):
                    i = tarfile.TarInfo(name)
                    if kind == "file":
                        data = value.encode(); i.size = len(data); i.mode = 0o644
                        t.addfile(i, io.BytesIO(data))
                    else:
                        i.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                        i.linkname = value; i.mode = 0o777
                        t.addfile(i)
            """
        let tar = scratch + "/evil-\(UUID().uuidString.prefix(6)).tar"
        let spec = tar + ".json"
        try Subprocess.writeFile(spec, Array(try JSONSerialization.data(withJSONObject: entries)))
        let r = Subprocess.run(["python3", "-c", script, tar, spec])
        guard r.status == 0 else { throw TestFailure("python3 tarfile: \(r.output)") }
        let digest = try TestImageBuilder.digest(ofFile: tar)
        let desc = try TestImageBuilder.ingest(file: tar, mediaType: MediaType.ociLayer, into: store)
        return TestImageBuilder.Layer(descriptor: desc, diffID: digest)
    }
}
