// The image commands as a user runs them: the real berth and berthd binaries
// against a real CNCF registry (docker-registry) on 127.0.0.1, with images the
// tests build from busybox-static and push themselves.

import Content
import Foundation
import Glibc
import Registry
import Testing
@testable import Manager

@Suite(.serialized) struct ImageCommandsTests {
    /// Pushes a busybox image (a busybox layer and one small layer of its own) as NAME:TAG.
    static func pushBusybox(_ registry: TestRegistry, _ name: String, extra: [String: String] = [:],
                            base: String? = nil) async throws -> (manifest: Digest, config: Digest) {
        let store = try ContentStore(root: Subprocess.tempDir("push-store"))
        let rootfs = try base ?? TestImageBuilder.busyboxRootfs()
        let l1 = try TestImageBuilder.layer(from: rootfs, into: store)
        let extraDir = Subprocess.tempDir("extra")
        for (path, text) in extra {
            let dir = extraDir + "/" + (path.split(separator: "/").dropLast().joined(separator: "/"))
            Subprocess.run(["mkdir", "-p", dir])
            try Subprocess.writeFile(extraDir + "/" + path, text)
        }
        let l2 = try TestImageBuilder.layer(from: extraDir, into: store)
        let image = try TestImageBuilder.image(layers: [l1, l2], into: store)
        let client = RegistryClient()
        try await client.push(image.manifest, from: store, to: try client.parse(registry.host + "/" + name))
        return (image.manifest.digest, image.config.digest)
    }

    static func requireTools() throws {
        guard TestRegistry.available, TestImageBuilder.busyboxAvailable else {
            throw TestFailure("docker-registry, busybox-static, tar and gzip are needed (make test installs them)")
        }
    }

    @Test func pullListInspectTagRemove() async throws {
        try Self.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let pushed = try await Self.pushBusybox(registry, "test/busybox:1", extra: ["etc/motd": "hello from layer two\n"])
        try await offPool {
            let d = DaemonProcessTests.Daemon()
            try d.start()
            let repo = registry.host + "/test/busybox"

            // pull: Docker's lines, the layers unpacked into snapshots.
            var r = try d.berth(["pull", repo + ":1"])
            #expect(r.status == 0, "\(r.err)")
            let lines = r.out.split(separator: "\n").map(String.init)
            #expect(lines.first == "1: Pulling from test/busybox", "\(r.out)")
            #expect(lines.filter { $0.hasSuffix(": Pull complete") }.count == 2, "\(r.out)")
            #expect(lines.contains("Digest: \(pushed.manifest)"))
            #expect(lines.contains("Status: Downloaded newer image for \(repo):1"))
            #expect(lines.last == repo + ":1")
            let motd = Self.find(d.root + "/snapshots", "etc/motd")
            #expect(motd.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" } == "hello from layer two\n",
                    "the second layer is unpacked into a snapshot: \(String(describing: motd))")
            #expect(Self.find(d.root + "/snapshots", "bin/busybox") != nil, "the busybox layer is unpacked")

            // A second pull changes nothing.
            r = try d.berth(["pull", repo + ":1"])
            #expect(r.status == 0 && r.out.contains("Already exists") && r.out.contains("Status: Image is up to date for \(repo):1"), "\(r.out)")

            // images: Docker's columns; the id is the config digest.
            r = try d.berth(["images"])
            let table = r.out.split(separator: "\n").map(String.init)
            #expect(table.first?.hasPrefix("REPOSITORY") == true && table.first?.contains("IMAGE ID") == true, "\(r.out)")
            let row = table.dropFirst().first.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) } ?? []
            #expect(row.first == repo && row.dropFirst().first == "1" && row.dropFirst(2).first == pushed.config.short, "\(r.out)")
            #expect(try d.berth(["images", "-q"]).out == pushed.config.short + "\n")
            #expect(try d.berth(["images", "--digests"]).out.contains(pushed.manifest.description))

            // inspect and history.
            r = try d.berth(["image", "inspect", "--format", "{{.Id}} {{.Os}} {{index .Config.Labels \"org.berth.test\"}}", repo + ":1"])
            #expect(r.out == "\(pushed.config) linux 1\n", "\(r.out) \(r.err)")
            r = try d.berth(["image", "inspect", repo + ":1"])
            let inspected = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]]
            #expect((inspected?.first?["RepoDigests"] as? [String]) == ["\(repo)@\(pushed.manifest)"], "\(r.out)")
            #expect(((inspected?.first?["RootFS"] as? [String: Any])?["Layers"] as? [String])?.count == 2)
            r = try d.berth(["history", repo + ":1"])
            let hist = r.out.split(separator: "\n").map(String.init)
            #expect(hist.first?.hasPrefix("IMAGE") == true && hist.count == 4, "\(r.out)")
            #expect(hist.dropFirst().first?.hasPrefix(pushed.config.short) == true && hist.last?.hasPrefix("<missing>") == true)

            // tag: a second name of the same image; rmi of one name only untags.
            #expect(try d.berth(["tag", repo + ":1", "mine:v2"]).status == 0)
            r = try d.berth(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
            #expect(Set(r.out.split(separator: "\n").map(String.init)) == ["\(repo):1 \(pushed.config.short)", "mine:v2 \(pushed.config.short)"], "\(r.out)")
            r = try d.berth(["rmi", pushed.config.short])
            #expect(r.status == 1 && r.err.contains("must be forced") && r.err.hasPrefix("Error response from daemon:"), "\(r.err)")
            r = try d.berth(["rmi", "mine:v2"])
            #expect(r.out == "Untagged: mine:v2\n", "\(r.out)")
            r = try d.berth(["rmi", "nosuch:tag"])
            #expect(r.status == 1 && r.err == "Error response from daemon: No such image: nosuch:tag\n", "\(r.err)")

            // The last name goes: the image, its blobs and its snapshots are deleted.
            r = try d.berth(["rmi", repo + ":1"])
            #expect(r.out.contains("Untagged: \(repo):1") && r.out.contains("Deleted: \(pushed.config)"), "\(r.out)")
            #expect(try d.berth(["images", "-q"]).out.isEmpty)
            #expect(Self.files(d.root + "/content/blobs/sha256").isEmpty, "no blob is left")
            #expect(Self.find(d.root + "/snapshots", "bin/busybox") == nil, "no snapshot is left")
            #expect(try d.stop() == 0)
        }
    }

    @Test func sharedLayersDanglingImagesAndPrune() async throws {
        try Self.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let base = try TestImageBuilder.busyboxRootfs()
        let a = try await Self.pushBusybox(registry, "test/a:1", extra: ["a.txt": "a\n"], base: base)
        _ = try await Self.pushBusybox(registry, "test/b:1", extra: ["b.txt": "b\n"], base: base)
        let box = DaemonBox()
        try await offPool {
            let d = box.daemon
            try d.start()
            #expect(try d.berth(["pull", registry.host + "/test/a:1"]).status == 0)
            let r = try d.berth(["pull", registry.host + "/test/b:1"])
            #expect(r.status == 0 && r.out.contains("Already exists"), "the busybox layer is shared: \(r.out)")
            #expect(Self.findAll(d.root + "/snapshots", "bin/busybox").count == 1, "the shared layer is stored once")
        }
        // A new image under the same tag: the old one stays as <none>:<none>.
        let a2 = try await Self.pushBusybox(registry, "test/a:1", extra: ["a.txt": "a, version two\n"], base: base)
        try await offPool {
            let d = box.daemon
            var r = try d.berth(["pull", registry.host + "/test/a:1"])
            #expect(r.status == 0 && r.out.contains("Status: Downloaded newer image"), "\(r.out)")
            r = try d.berth(["images", "--filter", "dangling=true", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
            #expect(r.out == "<none>:<none> \(a.config.short)\n", "\(r.out)")
            r = try d.berth(["images", "--filter", "dangling=false", "-q"])
            #expect(Set(r.out.split(separator: "\n").map(String.init)).contains(a2.config.short), "\(r.out)")
            // prune removes the dangling image and its own layer; the shared busybox layer stays.
            r = try d.berth(["image", "prune", "-f"])
            #expect(r.status == 0 && r.out.contains("deleted: \(a.config)") && r.out.contains("Total reclaimed space: "), "\(r.out)")
            #expect(!r.out.contains("Total reclaimed space: 0B"), "\(r.out)")
            #expect(try d.berth(["images", "--filter", "dangling=true", "-q"]).out.isEmpty)
            #expect(Self.findAll(d.root + "/snapshots", "bin/busybox").count == 1)
            #expect(Self.findAll(d.root + "/snapshots", "a.txt").count == 1, "only the new image's own layer is left")
            #expect(try d.stop() == 0)
        }
    }

    @Test func saveLoadRoundTripReadableBySkopeoAndUmoci() async throws {
        try Self.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let pushed = try await Self.pushBusybox(registry, "test/saved:1", extra: ["etc/motd": "saved\n"])
        try await offPool {
            let d = DaemonProcessTests.Daemon()
            try d.start()
            let repo = registry.host + "/test/saved"
            #expect(try d.berth(["pull", "-q", repo + ":1"]).status == 0)
            #expect(try d.berth(["tag", repo + ":1", "saved:v1"]).status == 0)
            let archive = d.dir + "/saved.tar"
            var r = try d.berth(["save", "-o", archive, "saved:v1"])
            #expect(r.status == 0, "\(r.err)")
            // Other tools read it: skopeo as a docker-archive and as an OCI archive; umoci as a layout.
            if Subprocess.which("skopeo") {
                for transport in ["docker-archive:", "oci-archive:"] {
                    let s = Subprocess.run(["skopeo", "inspect", "--raw", transport + archive])
                    #expect(s.status == 0, "skopeo inspect \(transport): \(s.output)")
                }
            }
            if Subprocess.which("umoci") {
                let layout = d.dir + "/layout"
                Subprocess.run(["mkdir", "-p", layout])
                #expect(Subprocess.run(["tar", "-xf", archive, "-C", layout]).status == 0)
                let u = Subprocess.run(["umoci", "ls", "--layout", layout])
                #expect(u.status == 0 && u.output.contains("v1"), "umoci ls: \(u.output)")
            }
            // Removed, then loaded back: the same image id, and its layers unpacked again.
            #expect(try d.berth(["rmi", "-f", pushed.config.short]).status == 0)
            #expect(Self.find(d.root + "/snapshots", "etc/motd") == nil)
            r = try d.berth(["load", "-i", archive])
            #expect(r.status == 0 && r.out == "Loaded image: saved:v1\n", "\(r.out) \(r.err)")
            r = try d.berth(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
            #expect(r.out == "saved:v1 \(pushed.config.short)\n", "\(r.out)")
            #expect(Self.find(d.root + "/snapshots", "etc/motd") != nil, "the loaded image's layers are unpacked")
            // A file that is not an image archive: a clear error, nothing stored.
            let blobs = Self.files(d.root + "/content/blobs/sha256").count
            try Subprocess.writeFile(d.dir + "/junk.tar", "not a tarball")
            r = try d.berth(["load", "-i", d.dir + "/junk.tar"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon:"), "\(r.err)")
            #expect(Self.files(d.root + "/content/blobs/sha256").count == blobs)
            #expect(try d.stop() == 0)
        }
    }

    @Test func importMakesAnImageWithChanges() async throws {
        try Self.requireTools()
        try await offPool {
            let d = DaemonProcessTests.Daemon()
            try d.start()
            let rootfs = try TestImageBuilder.busyboxRootfs(extra: ["etc/motd": "imported\n"])
            let tarball = d.dir + "/rootfs.tar.gz"
            #expect(Subprocess.run(["sh", "-c", "tar -C '\(rootfs)' -czf '\(tarball)' ."]).status == 0)
            var r = try d.berth(["import", "-c", "CMD [\"/bin/sh\", \"-c\", \"cat /etc/motd\"]", "-c", "ENV GREETING=hi",
                                 "-c", "WORKDIR /tmp", "-m", "from a test", tarball, "imported:1"])
            #expect(r.status == 0 && r.out.hasPrefix("sha256:") && r.out.count == 72, "\(r.out) \(r.err)")
            let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            r = try d.berth(["image", "inspect", "--format", "{{.Id}} {{json .Config.Cmd}} {{json .Config.Env}} {{.Config.WorkingDir}}", "imported:1"])
            #expect(r.out == "\(id) [\"/bin/sh\",\"-c\",\"cat /etc/motd\"] [\"GREETING=hi\"] /tmp\n", "\(r.out) \(r.err)")
            r = try d.berth(["history", "--format", "{{.Comment}}", "imported:1"])
            #expect(r.out == "from a test\n", "\(r.out)")
            #expect(Self.find(d.root + "/snapshots", "etc/motd") != nil, "the layer is unpacked")
            // From stdin: the same content, the same layer (one image id per config, so a new one).
            let s = Subprocess.run(["sh", "-c", "'\(DaemonProcessTests.berth)' -H unix://\(d.socket) import - stdin:1 < '\(tarball)'"])
            #expect(s.status == 0 && s.output.hasPrefix("sha256:"), "\(s.output)")
            #expect(Self.findAll(d.root + "/snapshots", "etc/motd").count == 1, "the same layer is stored once")
            // A bad change is refused and leaves no image.
            r = try d.berth(["import", "-c", "FROB x", tarball, "bad:1"])
            #expect(r.status == 1 && r.err.contains("FROB is not a valid change command"), "\(r.err)")
            #expect(try d.berth(["images", "--format", "{{.Repository}}"]).out.split(separator: "\n").sorted() == ["imported", "stdin"])
            // A file that is not a tarball: a clear error, and its blob is not kept.
            let blobs = Self.files(d.root + "/content/blobs/sha256").count
            try Subprocess.writeFile(d.dir + "/junk", String(repeating: "not a tarball ", count: 100))
            r = try d.berth(["import", d.dir + "/junk", "junk:1"])
            #expect(r.status == 1 && r.err.contains("is not a root filesystem tarball"), "\(r.err)")
            #expect(Self.files(d.root + "/content/blobs/sha256").count == blobs, "the failed import left its blob")
            #expect(try d.stop() == 0)
        }
    }

    @Test func pullAllTags() async throws {
        try Self.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let one = try await Self.pushBusybox(registry, "test/multi:1", extra: ["v": "1\n"])
        let two = try await Self.pushBusybox(registry, "test/multi:2", extra: ["v": "2\n"])
        try await offPool {
            let d = DaemonProcessTests.Daemon()
            try d.start()
            let repo = registry.host + "/test/multi"
            var r = try d.berth(["pull", "-a", repo])
            #expect(r.status == 0 && r.out.contains("1: Pulling from test/multi") && r.out.contains("2: Pulling from test/multi"), "\(r.out) \(r.err)")
            #expect(r.out.hasSuffix(repo + "\n"), "\(r.out)")
            r = try d.berth(["images", "--format", "{{.Tag}} {{.ID}}"])
            #expect(Set(r.out.split(separator: "\n").map(String.init)) == ["1 \(one.config.short)", "2 \(two.config.short)"], "\(r.out)")
            r = try d.berth(["pull", "-a", repo + ":1"])
            #expect(r.status == 1 && r.err.contains("tag can't be used with --all-tags/-a"), "\(r.err)")
            #expect(try d.stop() == 0)
        }
    }

    @Test func pullErrorsLeaveNothingBehind() async throws {
        try Self.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await offPool {
            let d = DaemonProcessTests.Daemon()
            try d.start()
            var r = try d.berth(["pull", registry.host + "/test/none:1"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon:") && r.err.contains("test/none"), "\(r.err)")
            r = try d.berth(["pull", "Busybox"])
            #expect(r.status == 1 && r.err.contains("must be lowercase") && !r.out.contains("Pulling from"), "\(r.out) \(r.err)")
            #expect(Self.files(d.root + "/content/blobs/sha256").isEmpty)
            #expect(try d.berth(["images", "-q"]).out.isEmpty)
            // Unreachable registry: unavailable, and still nothing stored.
            r = try d.berth(["pull", "127.0.0.1:1/x/y:1"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon:"), "\(r.err)")
            #expect(Self.files(d.root + "/content/blobs/sha256").isEmpty)
        }
    }

    // MARK: helpers

    /// A daemon shared by the blocking parts of one test (each runs off the pool).
    final class DaemonBox: @unchecked Sendable {
        let daemon = DaemonProcessTests.Daemon()
    }

    static func files(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    }

    static func findAll(_ dir: String, _ suffix: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            if p.hasSuffix("/" + suffix) { out.append(dir + "/" + p) }
        }
        return out
    }

    static func find(_ dir: String, _ suffix: String) -> String? { findAll(dir, suffix).first }
}
