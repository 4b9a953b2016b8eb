// Volumes as a user runs them (issue 7, Volumes; docs/volumes.md): the real
// berth, berthd, berth-shim and berth-runtime, busybox images imported as
// bb:1 and vol:1 (VOLUME /data), each test with its own berthd.
import Foundation
import Glibc
import Testing
@testable import Manager

@Suite(.serialized) struct VolumeCommandsTests {
    typealias S = VolumeTestSupport

    @Test func namedVolumeOutlivesContainersAndBerthd() async throws {
        try await offPool {
            let d = try S.daemon()
            defer { S.finish(d) }
            var r = try d.berth(["volume", "create", "--label", "team=db", "data1"])
            #expect(r.status == 0 && r.out == "data1\n", "\(r)")
            r = try d.berth(["volume", "ls"])
            #expect(r.out == "DRIVER    VOLUME NAME\nlocal     data1\n", "\(r)")
            let v = try #require((try S.inspect(d, ["volume", "inspect", "data1"]) as? [[String: Any]])?.first)
            #expect(v["Name"] as? String == "data1" && v["Driver"] as? String == "local" && v["Scope"] as? String == "local")
            #expect(v["Mountpoint"] as? String == d.root + "/volumes/data1/_data")
            #expect((v["Labels"] as? [String: String]) == ["team": "db"] && (v["CreatedAt"] as? String ?? "").hasSuffix("Z"))
            #expect(Array(v.keys).sorted() == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"])

            // One container writes, the next reads; the host sees the file in _data.
            r = try d.berth(["run", "--rm", "-v", "data1:/d", "bb:1", "sh", "-c", "echo written > /d/f"])
            #expect(r.status == 0, "\(r)")
            r = try d.berth(["run", "--rm", "-v", "data1:/d", "bb:1", "cat", "/d/f"])
            #expect(r.status == 0 && r.out == "written\n", "\(r)")
            #expect((try? String(contentsOfFile: d.root + "/volumes/data1/_data/f", encoding: .utf8)) == "written\n")

            // A named volume is made on first use; `volume rm` is refused while a container references it.
            r = try d.berth(["create", "--name", "holder", "-v", "made:/m", "bb:1", "true"])
            let holder = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(r.status == 0 && S.volumes(d) == ["data1", "made"], "\(r)")
            r = try d.berth(["volume", "rm", "made"])
            #expect(r.status == 1 && r.err == "Error response from daemon: remove made: volume is in use - [\(holder)]\n", "\(r)")
            // rm -v keeps named volumes.
            r = try d.berth(["rm", "-v", "holder"])
            #expect(r.status == 0 && S.volumes(d) == ["data1", "made"], "\(r)")
            r = try d.berth(["volume", "rm", "made"])
            #expect(r.status == 0 && r.out == "made\n" && access(d.root + "/volumes/made", F_OK) != 0, "\(r)")
            r = try d.berth(["volume", "rm", "made"])
            #expect(r.status == 1 && r.err == "Error response from daemon: get made: no such volume\n", "\(r)")

            // berthd goes and comes back: the volume and its data are still there.
            _ = try d.stop()
            try d.start()
            r = try d.berth(["run", "--rm", "-v", "data1:/d", "bb:1", "cat", "/d/f"])
            #expect(r.status == 0 && r.out == "written\n" && S.volumes(d) == ["data1"], "\(r)")
        }
    }

    @Test func imageVolumeIsCopiedUpIntoAnAnonymousVolume() async throws {
        try await offPool {
            let d = try S.daemon()
            defer { S.finish(d) }
            var r = try d.berth(["run", "--name", "cu", "-v", "/scratch", "-v", "keep:/keep", "vol:1", "sh", "-c",
                                 "stat -c '%u %g %a' /data/seed; readlink /data/link; cat /data/link; ls -A /scratch; echo x > /data/new"])
            #expect(r.status == 0 && r.out == "1000 1000 640\nseed\nfrom the image\n", "\(r)")
            let c = try #require((try S.inspect(d, ["inspect", "cu"]) as? [[String: Any]])?.first)
            let mounts = try #require(c["Mounts"] as? [[String: Any]])
            let data = try #require(mounts.first { $0["Destination"] as? String == "/data" })
            let name = try #require(data["Name"] as? String)
            #expect(ContainerCommandsTests.isID(name))
            #expect(data["Type"] as? String == "volume" && data["Source"] as? String == d.root + "/volumes/\(name)/_data")
            #expect(data["Driver"] as? String == "local" && data["Mode"] as? String == "" && data["RW"] as? Bool == true
                    && data["Propagation"] as? String == "")
            let keep = try #require(mounts.first { $0["Destination"] as? String == "/keep" })
            #expect(keep["Name"] as? String == "keep" && keep["Mode"] as? String == "z", "\(keep)")
            #expect(mounts.count == 3, "\(mounts)")
            // The copy is the container's: the image's files with their owner, and what it wrote.
            var st = stat()
            #expect(stat(d.root + "/volumes/\(name)/_data/seed", &st) == 0 && st.st_uid == 1000 && st.st_mode & 0o777 == 0o640)
            #expect(access(d.root + "/volumes/\(name)/_data/new", F_OK) == 0)
            // ps shows the volume names (truncated to 15 columns unless --no-trunc).
            r = try d.berth(["ps", "-a", "--no-trunc", "--format", "{{.Mounts}}"])
            #expect(r.out.contains(name) && r.out.contains("keep"), "\(r)")
            // A second container of the image gets a volume of its own, filled again.
            r = try d.berth(["run", "--rm", "vol:1", "ls", "/data"])
            #expect(r.status == 0 && r.out == "link\nseed\n", "\(r)")
            // rm -v: the anonymous volumes go, the named one stays; --rm removed its own.
            r = try d.berth(["rm", "-v", "cu"])
            #expect(r.status == 0 && S.volumes(d) == ["keep"], "\(r)")
            #expect(access(d.root + "/volumes/\(name)", F_OK) != 0)
        }
    }

    @Test func bindMountsHideTheImageAndWriteToTheHost() async throws {
        try await offPool {
            let d = try S.daemon()
            defer { S.finish(d) }
            let host = d.dir + "/host"
            mkdir(host, 0o755)
            try Subprocess.writeFile(host + "/onhost", "h\n")
            var r = try d.berth(["run", "--rm", "-v", host + ":/data", "vol:1", "sh", "-c", "ls /data; echo w > /data/fromc"])
            #expect(r.status == 0 && r.out == "onhost\n", "\(r)")
            #expect((try? String(contentsOfFile: host + "/fromc", encoding: .utf8)) == "w\n")
            // -v makes a missing host directory; :ro refuses writes.
            r = try d.berth(["run", "--rm", "-v", host + "/made/deep:/x:ro", "bb:1", "touch", "/x/f"])
            #expect(r.status == 1 && r.err.contains("Read-only file system"), "\(r)")
            #expect(access(host + "/made/deep", F_OK) == 0)
            // --mount type=bind: read-only, and never copied up; inspect shows the bind.
            r = try d.berth(["run", "--name", "bm", "--mount", "type=bind,src=\(host),dst=/data,readonly", "vol:1", "sh", "-c",
                             "cat /data/onhost; touch /data/x"])
            #expect(r.status == 1 && r.out == "h\n" && r.err.contains("Read-only file system"), "\(r)")
            let m = try #require(((try S.inspect(d, ["inspect", "bm"]) as? [[String: Any]])?.first?["Mounts"] as? [[String: Any]])?.first)
            #expect(m["Type"] as? String == "bind" && m["Source"] as? String == host && m["Destination"] as? String == "/data"
                    && m["RW"] as? Bool == false && m["Propagation"] as? String == "rprivate" && m["Name"] == nil, "\(m)")
            #expect(S.volumes(d).isEmpty)
        }
    }

    @Test func volumesFromReadOnlyAndMountTypes() async throws {
        try await offPool {
            let d = try S.daemon()
            defer { S.finish(d) }
            var r = try d.berth(["run", "-d", "--name", "src", "-v", "shared:/s", "vol:1", "sh", "-c", "echo s > /s/f; echo d > /data/d; sleep 60"])
            #expect(r.status == 0, "\(r)")
            for _ in 0..<100 where (try? String(contentsOfFile: d.root + "/volumes/shared/_data/f", encoding: .utf8)) == nil { usleep(50_000) }
            r = try d.berth(["run", "--rm", "--volumes-from", "src:ro", "bb:1", "sh", "-c", "cat /s/f /data/d; touch /s/x"])
            #expect(r.status == 1 && r.out == "s\nd\n" && r.err.contains("Read-only file system"), "\(r)")
            r = try d.berth(["run", "--rm", "--volumes-from", "src", "bb:1", "touch", "/s/x"])
            #expect(r.status == 0 && access(d.root + "/volumes/shared/_data/x", F_OK) == 0, "\(r)")

            // --mount type=volume with volume-nocopy: the image's /data is not copied.
            r = try d.berth(["run", "--rm", "--mount", "type=volume,src=empty,dst=/data,volume-nocopy", "vol:1", "ls", "-A", "/data"])
            #expect(r.status == 0 && r.out == "", "\(r)")
            // --mount type=tmpfs with a size and mode.
            r = try d.berth(["run", "--rm", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "bb:1", "sh", "-c",
                             "grep ' /t ' /proc/mounts; stat -c %a /t"])
            #expect(r.status == 0 && r.out.hasPrefix("tmpfs /t tmpfs ") && r.out.contains("size=1024k") && r.out.hasSuffix("1770\n"), "\(r)")
            // --mount type=volume with volume-opt: a tmpfs local volume made on first use.
            r = try d.berth(["run", "--rm", "--mount", "type=volume,src=tv2,dst=/v,volume-opt=type=tmpfs,volume-opt=device=tmpfs",
                             "bb:1", "sh", "-c", "grep ' /v ' /proc/mounts"])
            #expect(r.status == 0 && r.out.hasPrefix("tmpfs /v tmpfs "), "\(r)")

            // A tmpfs local volume: mounted on _data while used, shared, gone with the last user.
            r = try d.berth(["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", "tv"])
            #expect(r.status == 0, "\(r)")
            let data = d.root + "/volumes/tv/_data"
            r = try d.berth(["run", "-d", "--name", "t1", "-v", "tv:/tv", "bb:1", "sh", "-c", "echo shared > /tv/f; sleep 60"])
            #expect(r.status == 0, "\(r)")
            for _ in 0..<100 where access(data + "/f", F_OK) != 0 { usleep(50_000) }
            #expect(MountTable.isMountPoint(data))
            r = try d.berth(["run", "--rm", "-v", "tv:/tv", "bb:1", "sh", "-c", "cat /tv/f; grep ' /tv ' /proc/mounts"])
            #expect(r.status == 0 && r.out.hasPrefix("shared\ntmpfs /tv tmpfs ") && r.out.contains("size=2048k"), "\(r)")
            #expect(MountTable.isMountPoint(data))
            r = try d.berth(["rm", "-f", "t1"])
            #expect(r.status == 0 && !MountTable.isMountPoint(data), "\(r)")

            // --read-only with a writable volume.
            r = try d.berth(["run", "--rm", "--read-only", "-v", "/w", "bb:1", "sh", "-c", "touch /w/ok && echo ok; touch /nope"])
            #expect(r.status == 1 && r.out == "ok\n" && r.err.contains("Read-only file system"), "\(r)")
        }
    }

    @Test func danglingVolumesAreListedAndPruned() async throws {
        try await offPool {
            let d = try S.daemon()
            defer { S.finish(d) }
            var r = try d.berth(["volume", "create", "named"])
            r = try d.berth(["create", "--name", "user", "-v", "used:/u", "bb:1", "true"])
            r = try d.berth(["run", "--name", "gone", "-v", "/anon", "bb:1", "true"])
            let anon = try #require(((try S.inspect(d, ["inspect", "gone"]) as? [[String: Any]])?.first?["Mounts"] as? [[String: Any]])?.first?["Name"] as? String)
            r = try d.berth(["rm", "gone"])  // without -v: the anonymous volume stays, dangling
            #expect(r.status == 0 && S.volumes(d) == [anon, "named", "used"].sorted(), "\(r)")
            #expect(S.volumes(d, ["dangling=true"]) == [anon, "named"].sorted())
            #expect(S.volumes(d, ["dangling=false"]) == ["used"])
            #expect(S.volumes(d, ["name=nam"]) == ["named"])
            r = try d.berth(["volume", "ls", "--filter", "bogus=1"])
            #expect(r.status == 1 && r.err == "Error response from daemon: invalid filter 'bogus'\n", "\(r)")
            r = try d.berth(["volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Mountpoint}}", "--filter", "name=named"])
            #expect(r.out == "named local \(d.root)/volumes/named/_data\n", "\(r)")
            // Asked first: "n" removes nothing.
            r = try ContainerCommandsTests.berth(d, ["volume", "prune"], input: "n\n")
            #expect(r.out.hasPrefix("WARNING! This will remove anonymous local volumes not used by at least one container.\n"), "\(r)")
            #expect(S.volumes(d).count == 3)
            // Docker 23+: only anonymous volumes unless --all.
            r = try d.berth(["volume", "prune", "-f"])
            #expect(r.status == 0 && r.out.hasPrefix("Deleted Volumes:\n\(anon)\n\nTotal reclaimed space: "), "\(r)")
            #expect(S.volumes(d) == ["named", "used"])
            r = try d.berth(["volume", "prune", "-f", "--all"])
            #expect(r.out.hasPrefix("Deleted Volumes:\nnamed\n\nTotal reclaimed space: ") && S.volumes(d) == ["used"], "\(r)")
            r = try d.berth(["volume", "prune", "-f", "--all"])
            #expect(r.out == "Total reclaimed space: 0B\n", "\(r)")
        }
    }

    @Test func badInputLeavesNothingBehind() async throws {
        try await offPool {
            let d = try S.daemon()
            defer { S.finish(d) }
            var r = try d.berth(["volume", "create", "bad name!"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon: create bad name!: \"bad name!\" includes invalid characters for a local volume name"), "\(r)")
            r = try d.berth(["volume", "create", "-d", "nfs", "x1"])
            #expect(r.status == 1 && r.err == "Error response from daemon: error looking up volume plugin nfs: plugin \"nfs\" not found\n", "\(r)")
            r = try d.berth(["volume", "create", "-o", "colour=blue", "x2"])
            #expect(r.status == 1 && r.err == "Error response from daemon: create: invalid option: \"colour\"\n", "\(r)")
            r = try d.berth(["run", "--mount", "type=bind,src=/nonexistent/berth,dst=/x", "bb:1", "true"])
            #expect(r.status == 125 && r.err.hasPrefix("berth: Error response from daemon: invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/berth"), "\(r)")
            r = try d.berth(["run", "--mount", "type=volume,dst", "bb:1", "true"])
            #expect(r.status == 125 && r.err.contains("invalid field 'dst' must be a key=value pair"), "\(r)")
            r = try d.berth(["create", "-v", "a1:/x", "-v", "a2:/x", "bb:1", "true"])
            #expect(r.status == 125 && r.err.contains("Duplicate mount point: /x"), "\(r)")
            // A refused create made none of its volumes.
            r = try d.berth(["create", "-v", "n1:/x", "--mount", "type=bind,src=/nonexistent/berth,dst=/y", "bb:1", "true"])
            #expect(r.status == 125, "\(r)")
            r = try d.berth(["create", "-v", "n2:/x", "--mount", "type=volume,src=n3,dst=/y,volume-opt=bogus=1", "bb:1", "true"])
            #expect(r.status == 125 && r.err.contains("invalid option: \\\"bogus\\\"") || r.err.contains("invalid option: \"bogus\""), "\(r)")
            #expect(S.volumes(d).isEmpty)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: d.root + "/volumes")) ?? ["?"]).isEmpty)
            #expect(try d.berth(["ps", "-aq"]).out == "")
        }
    }
}
