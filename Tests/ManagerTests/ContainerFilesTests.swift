// A container's files and resources, end to end against a real berthd (with
// berth-shim and berth-runtime): diff, commit, export, cp both ways (with
// symlink escape attempts), update. Driven through the API client
// (RPC.BerthClient), as the CLI would.

import CArchive
import Foundation
import Glibc
import OCI
import RPC
import Testing
@testable import Manager

@Suite(.serialized) struct ContainerFilesTests {
    /// A busybox rootfs imported as image `files:1`.
    static func importImage(_ c: BerthClient, _ d: DaemonProcessTests.Daemon) throws {
        let rootfs = try TestImageBuilder.busyboxRootfs(extra: ["etc/motd": "image motd\n"])
        let tarball = d.dir + "/rootfs.tar"
        let r = Subprocess.run(["tar", "--numeric-owner", "-C", rootfs, "-cf", tarball, "."])
        guard r.status == 0 else { throw TestFailure("tar: \(r.output)") }
        _ = try c.call(.imageImport, BerthAPI.ImportParams(path: tarball, reference: "files:1"), as: BerthAPI.ImportResult.self)
    }

    static func create(_ c: BerthClient, name: String, image: String = "files:1", cmd: [String]?) throws -> String {
        var config = BerthAPI.ContainerConfig()
        config.cmd = cmd
        return try c.call(.containerCreate, BerthAPI.ContainerCreateParams(name: name, image: image, config: config),
                          as: BerthAPI.ContainerCreateResult.self).id
    }

    static func start(_ c: BerthClient, _ id: String) throws {
        _ = try c.call(.containerStart, BerthAPI.ContainerRef(id: id), as: NoParams.self)
    }

    static func diff(_ c: BerthClient, _ id: String) throws -> [String] {
        try c.call(.containerDiff, BerthAPI.ContainerRef(id: id), as: [BerthAPI.ContainerChange].self)
            .map { ["C", "A", "D"][$0.kind] + " " + $0.path }
    }

    /// `tar -tvf`-like listing: "name" per entry (as tar prints it).
    static func list(_ tar: String) throws -> [String] {
        let r = Subprocess.run(["tar", "-tf", tar])
        guard r.status == 0 else { throw TestFailure("tar -tf \(tar): \(r.output)") }
        return r.output.split(separator: "\n").map(String.init)
    }

    static func extract(_ tar: String, _ member: String) -> String {
        Subprocess.run(["tar", "-xOf", tar, member]).output
    }

    static func errorMessage(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as BerthError { return e.message } catch { return "\(error)" }
        return nil
    }

    @Test func diffCommitExportCopyUpdate() async throws {
        guard TestImageBuilder.busyboxAvailable else { throw TestFailure("busybox-static, tar and gzip are needed (make test installs them)") }
        try await offPool {
            let d = DaemonProcessTests.Daemon()
            try d.start()
            defer { _ = try? d.stop() }
            let c = try BerthClient(host: "unix://" + d.socket)
            try Self.importImage(c, d)

            // A container that adds, changes and deletes files, and plants symlinks pointing out of its root.
            let script = """
            echo hi > /new.txt; busybox rm /etc/passwd; busybox mkdir -p /d; echo x > /d/f; echo more >> /etc/motd;
            busybox ln -s /../../../../../../../etc /hostetc; busybox ln -s /../../../../../../../tmp /hosttmp;
            echo ready > /ready; exec busybox sleep 1000
            """
            let id = try Self.create(c, name: "c1", cmd: ["/bin/sh", "-c", script])
            try Self.start(c, id)
            try waitUntil("the container's script") { (try? Self.diff(c, id))?.contains("A /ready") == true }

            // diff: Docker's lines, in Docker's order.
            var changes = try Self.diff(c, id)
            for line in ["A /new.txt", "C /etc", "D /etc/passwd", "C /etc/motd", "A /d", "A /d/f", "A /hostetc"] {
                #expect(changes.contains(line), "\(line) in \(changes)")
            }
            #expect(!changes.contains { $0.hasSuffix(" /bin") || $0.hasSuffix(" /bin/busybox") }, "\(changes)")
            let paths = changes.map { String($0.dropFirst(2)) }
            #expect(paths.firstIndex(of: "/d")! < paths.firstIndex(of: "/d/f")!)
            #expect(paths.firstIndex(of: "/etc")! < paths.firstIndex(of: "/etc/motd")!)

            // cp out: a file, a directory, a missing path, and a symlink that points out of the root.
            let out = d.dir + "/out.tar"
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/new.txt", path: out), as: NoParams.self)
            #expect(try Self.list(out) == ["new.txt"])
            #expect(Self.extract(out, "new.txt") == "hi\n")
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/d", path: out), as: NoParams.self)
            #expect(try Self.list(out) == ["d/", "d/f"])
            #expect(Self.errorMessage {
                _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/nonexistent", path: out), as: NoParams.self)
            } == "Could not find the file /nonexistent in container c1")
            // The link itself, then through it (trailing slash): the container's /etc, never the host's.
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/hostetc", path: out), as: NoParams.self)
            #expect(try Self.list(out) == ["hostetc"])
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/hostetc/", path: out), as: NoParams.self)
            let etc = try Self.list(out)
            #expect(etc.contains("hostetc/motd") && !etc.contains("hostetc/passwd") && !etc.contains("hostetc/os-release"), "\(etc)")
            #expect(Self.extract(out, "hostetc/motd") == "image motd\nmore\n")
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/hostetc/../etc/motd", path: out), as: NoParams.self)
            #expect(Self.extract(out, "motd") == "image motd\nmore\n")

            // cp in: ownership and modes kept; a destination through an escaping symlink stays in the container;
            // a tar whose own symlink points out cannot write through it.
            let src = Subprocess.tempDir("cp-in")
            let marker = "berth-escape-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try Subprocess.writeFile(src + "/in.txt", "copied in\n")
            chmod(src + "/in.txt", 0o640)
            chown(src + "/in.txt", 1234, 5678)
            try Subprocess.writeFile(src + "/" + marker, "x\n")
            symlink("/", src + "/up")
            let inTar = d.dir + "/in.tar"
            var r = Subprocess.run(["tar", "--numeric-owner", "-C", src, "-cf", inTar, "in.txt", marker, "up"])
            #expect(r.status == 0, "\(r.output)")
            _ = try c.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: "c1", destination: "/tmp", path: inTar), as: NoParams.self)
            _ = try c.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: "c1", destination: "/hosttmp", path: inTar), as: NoParams.self)
            #expect(access("/tmp/" + marker, F_OK) != 0, "a put through /hosttmp wrote to the host's /tmp")
            // A tar entry through its own symlink "up" → "/" lands inside the destination.
            let evilDir = Subprocess.tempDir("cp-evil")
            symlink("/", evilDir + "/up")
            r = Subprocess.run(["tar", "-C", evilDir, "-cf", d.dir + "/evil.tar", "up"])
            #expect(r.status == 0)
            r = Subprocess.run(["sh", "-c", "cd '\(src)' && tar -rf '\(d.dir)/evil.tar' --transform 's,^,up/,' '\(marker)'"])
            #expect(r.status == 0, "\(r.output)")
            _ = try? c.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: "c1", destination: "/tmp", path: d.dir + "/evil.tar"), as: NoParams.self)
            #expect(access("/" + marker, F_OK) != 0, "a tar's own symlink led the extraction to the host's /")
            unlink("/" + marker)
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/tmp/in.txt", path: out), as: NoParams.self)
            r = Subprocess.run(["tar", "--numeric-owner", "-tvf", out])
            #expect(r.output.hasPrefix("-rw-r----- 1234/5678"), "\(r.output)")
            #expect(Self.extract(out, "in.txt") == "copied in\n")
            changes = try Self.diff(c, id)
            #expect(changes.contains("A /tmp/in.txt") && changes.contains("A /tmp/" + marker), "\(changes)")
            #expect(Self.errorMessage {
                _ = try c.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: "c1", destination: "/new.txt", path: inTar), as: NoParams.self)
            } == "extraction point is not a directory")
            #expect(Self.errorMessage {
                _ = try c.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: "c1", destination: "/nope", path: inTar), as: NoParams.self)
            } == "Could not find the file /nope in container c1")

            // export: the merged filesystem.
            _ = try c.call(.containerExport, BerthAPI.ContainerExportParams(id: "c1", path: out), as: NoParams.self)
            let exported = try Self.list(out)
            for name in ["new.txt", "d/f", "bin/busybox", "etc/motd", "tmp/in.txt"] { #expect(exported.contains(name), "\(name) in export") }
            #expect(!exported.contains("etc/passwd"))
            #expect(Self.extract(out, "etc/motd") == "image motd\nmore\n")

            // update: the memory limit reaches the running container's cgroup; the restart policy is stored.
            var u = BerthAPI.ContainerUpdateParams(id: "c1")
            u.memory = 100 * 1024 * 1024
            u.restartPolicy = BerthAPI.RestartPolicy(name: "on-failure", maximumRetryCount: 3)
            _ = try c.call(.containerUpdate, u, as: NoParams.self)
            let limit = (try? String(contentsOfFile: "/sys/fs/cgroup/memory/berth/\(id)/memory.limit_in_bytes", encoding: .utf8)) ?? ""
            #expect(limit == "104857600\n", "memory.limit_in_bytes: \(limit)")
            let inspected = try c.call(.containerInspect, BerthAPI.ContainerInspectParams(id: "c1"), as: JSONValue.self)
            #expect(inspected["HostConfig"]?["Memory"] == .int(104_857_600), "\(inspected["HostConfig"] ?? .null)")
            #expect(inspected["HostConfig"]?["RestartPolicy"]?["Name"] == .string("on-failure"))
            u = BerthAPI.ContainerUpdateParams(id: "c1")
            u.memory = 1024
            #expect(Self.errorMessage { _ = try c.call(.containerUpdate, u, as: NoParams.self) } == "Minimum memory limit allowed is 6MB")

            // commit (pausing the running container), then run the new image: its Cmd, the new file, the deletion.
            let cmd = #"CMD ["/bin/sh", "-c", "cat /new.txt /tmp/in.txt; [ -e /etc/passwd ] || echo passwd gone"]"#
            let result = try c.call(.containerCommit, BerthAPI.ContainerCommitParams(id: "c1", reference: "committed:1", comment: "a message",
                                                                                     author: "Tester", changes: [cmd, "ENV COMMITTED=yes"]),
                                    as: BerthAPI.ContainerCommitResult.self)
            #expect(result.id.hasPrefix("sha256:"))
            let after = try c.call(.containerInspect, BerthAPI.ContainerInspectParams(id: "c1"), as: JSONValue.self)
            #expect(after["State"]?["Status"] == .string("running"), "commit unpaused the container")
            let id2 = try Self.create(c, name: "c2", image: "committed:1", cmd: nil)
            let c2 = try c.call(.containerInspect, BerthAPI.ContainerInspectParams(id: id2), as: JSONValue.self)
            #expect(c2["Config"]?["Cmd"] == .array(["/bin/sh", "-c", "cat /new.txt /tmp/in.txt; [ -e /etc/passwd ] || echo passwd gone"]))
            #expect(c2["Config"]?["Env"]?.arrayValue?.contains(.string("COMMITTED=yes")) == true, "\(c2["Config"] ?? .null)")
            try Self.start(c, id2)
            let waited = try c.call(.containerWait, BerthAPI.ContainerWaitParams(id: id2), as: BerthAPI.ContainerWaitResult.self)
            #expect(waited.statusCode == 0)
            let log = (try? String(contentsOfFile: d.root + "/containers/\(id2)/\(id2)-json.log", encoding: .utf8)) ?? ""
            #expect(log.contains(#""log":"hi\n""#) && log.contains(#""log":"copied in\n""#) && log.contains(#""log":"passwd gone\n""#), "\(log)")
            // The new container's own diff starts empty (apart from what the runtime adds).
            #expect(try Self.diff(c, id2).allSatisfy { !$0.hasSuffix("/new.txt") && !$0.hasSuffix("/etc/passwd") })

            // A stopped container: diff, cp both ways and export through a snapshot mounted for the call.
            _ = try c.call(.containerKill, BerthAPI.ContainerKillParams(id: "c1"), as: NoParams.self)
            _ = try c.call(.containerWait, BerthAPI.ContainerWaitParams(id: "c1"), as: BerthAPI.ContainerWaitResult.self)
            #expect(try Self.diff(c, "c1").contains("A /new.txt"))
            _ = try c.call(.containerArchivePut, BerthAPI.ArchivePutParams(id: "c1", destination: "/", path: inTar), as: NoParams.self)
            _ = try c.call(.containerArchiveGet, BerthAPI.ArchiveGetParams(id: "c1", source: "/in.txt", path: out), as: NoParams.self)
            #expect(Self.extract(out, "in.txt") == "copied in\n")
            _ = try c.call(.containerExport, BerthAPI.ContainerExportParams(id: "c1", path: out), as: NoParams.self)
            #expect(try Self.list(out).contains("in.txt"))
            #expect(!(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)).contains(d.state + "/mounts"), "a scratch mount was left")

            // A commit of a stopped container (no pause), untagged: a dangling image.
            let dangling = try c.call(.containerCommit, BerthAPI.ContainerCommitParams(id: "c1"), as: BerthAPI.ContainerCommitResult.self)
            #expect(dangling.id.hasPrefix("sha256:") && dangling.id != result.id)
        }
    }
}

/// The change detection and layer writing on their own, on trees made here:
/// overlay upper directories (whiteouts, opaque directories) and the copying
/// snapshotter's full trees, which berthd only uses where overlayfs does not work.
@Suite struct FilesystemChangesTests {
    static func tree(_ files: [String: String], dirs: [String] = [], links: [String: String] = [:]) throws -> String {
        let root = Subprocess.tempDir("tree")
        for d in dirs { Subprocess.run(["mkdir", "-p", root + "/" + d]) }
        for (path, text) in files {
            Subprocess.run(["mkdir", "-p", root + "/" + path.split(separator: "/").dropLast().joined(separator: "/")])
            try Subprocess.writeFile(root + "/" + path, text)
        }
        for (path, target) in links { symlink(target, root + "/" + path) }
        return root
    }

    static func lines(_ changes: [FilesystemChanges.Change]) -> [String] {
        FilesystemChanges.sorted(changes).map { ["C", "A", "D"][$0.kind] + " " + $0.path }
    }

    static func tarList(_ write: (TarOutput) throws -> Void) throws -> [String] {
        let path = Subprocess.tempDir("tar") + "/layer.tar"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let tar = try TarOutput(fd: fd)
        try write(tar)
        try tar.finish()
        close(fd)
        return Subprocess.run(["tar", "-tf", path]).output.split(separator: "\n").map(String.init)
    }

    @Test func overlayUpperAgainstLowers() throws {
        // Two lower layers (nearest first) and an upper directory as overlayfs leaves it.
        let lower1 = try Self.tree(["etc/motd": "1", "opq/b": "b"], dirs: ["var/empty"])
        let lower2 = try Self.tree(["etc/passwd": "root", "etc/group": "g", "opq/a": "a", "gone/x": "x", "bin/sh": "sh"])
        let upper = try Self.tree(["new": "n", "etc/motd": "2", "opq/c": "c"])
        // Deleted: /etc/passwd and /gone (whiteouts), /opq made opaque (its a and b are hidden).
        #expect(mknod(upper + "/etc/passwd", S_IFCHR | 0o600, 0) == 0)
        #expect(mknod(upper + "/gone", S_IFCHR | 0o600, 0) == 0)
        #expect(setxattr(upper + "/opq", "trusted.overlay.opaque", "y", 1, 0) == 0)
        // /etc keeps the lower's mode and times (it is only there for its content).
        Subprocess.run(["touch", "-r", lower1 + "/etc", upper + "/etc"])
        let changes = Self.lines(try FilesystemChanges.overlay(upper: upper, lowers: [lower1, lower2]))
        #expect(changes == ["C /etc", "C /etc/motd", "D /etc/passwd", "D /gone", "A /new", "C /opq", "D /opq/a", "D /opq/b", "A /opq/c"], "\(changes)")

        // The upper directory as an OCI layer: whiteout files instead of devices and xattrs.
        let upperFD = open(upper, O_RDONLY | O_DIRECTORY)
        defer { close(upperFD) }
        let entries = try Self.tarList { try ContainerService.addOverlayUpper($0, dir: upperFD, prefix: "") }
        #expect(entries == ["etc/", "etc/motd", "etc/.wh.passwd", ".wh.gone", "new", "opq/", "opq/.wh..wh..opq", "opq/c"], "\(entries)")
    }

    @Test func fullTreesComparedAsDockerDoes() throws {
        let old = try Self.tree(["etc/motd": "1", "etc/passwd": "root", "gone/x": "x", "same/f": "f"], links: ["link": "/etc"])
        let new = Subprocess.tempDir("new")
        // A copy that keeps times and modes (as the copying snapshotter's), then changes.
        #expect(Subprocess.run(["cp", "-a", old + "/.", new]).status == 0)
        try Subprocess.writeFile(new + "/etc/motd", "changed")
        unlink(new + "/etc/passwd")
        Subprocess.run(["rm", "-rf", new + "/gone"])
        Subprocess.run(["mkdir", "-p", new + "/added/deeper"])
        try Subprocess.writeFile(new + "/added/deeper/file", "new")
        chmod(new + "/same/f", 0o600)
        let changes = Self.lines(try FilesystemChanges.trees(new: new, old: old))
        #expect(changes == ["A /added", "A /added/deeper", "A /added/deeper/file", "C /etc", "C /etc/motd", "D /etc/passwd",
                            "D /gone", "C /same", "C /same/f"], "\(changes)")

        let newFD = open(new, O_RDONLY | O_DIRECTORY)
        defer { close(newFD) }
        let entries = try Self.tarList {
            try ContainerService.addTreeChanges($0, upperFD: newFD, changes: try FilesystemChanges.trees(new: new, old: old))
        }
        #expect(entries == ["added/", "added/deeper/", "added/deeper/file", "etc/", "etc/motd", "etc/.wh.passwd", ".wh.gone", "same/", "same/f"],
                "\(entries)")
    }
}
