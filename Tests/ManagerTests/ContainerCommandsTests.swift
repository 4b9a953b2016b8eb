// The container commands as a user runs them (issue 6, the Docker books'
// scenarios): the real berth, berthd, berth-shim and berth-runtime binaries,
// a busybox image imported as bb:1 (and one pulled from the tests' registry),
// `-it` under a real pty driven by python3's pty module.
import Foundation
import Glibc
import OCI
import RPC
import Synchronization
import Testing
@testable import Manager

@Suite(.serialized) struct ContainerCommandsTests {
    typealias Daemon = DaemonProcessTests.Daemon
    typealias Result = DaemonProcessTests.Result

    /// berth with `input` on its stdin (a pipe, not a terminal).
    static func berth(_ d: Daemon, _ args: [String], input: String) throws -> Result {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: DaemonProcessTests.berth)
        p.arguments = ["-H", "unix://" + d.socket] + args
        let inp = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = inp
        p.standardOutput = out
        p.standardError = err
        try p.run()
        inp.fileHandleForWriting.write(Data(input.utf8))
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// A berthd with bb:1: busybox with the applets these tests call.
    static func daemonWithImage() throws -> Daemon {
        guard TestImageBuilder.busyboxAvailable else { throw TestFailure("busybox-static is needed (make test installs it)") }
        let d = Daemon()
        try d.start()
        let rootfs = try TestImageBuilder.busyboxRootfs()
        for applet in ["sleep", "tr", "id", "stty", "ps", "env", "hostname", "rm", "mkdir", "touch"] {
            symlink("busybox", rootfs + "/bin/" + applet)
        }
        let tarball = d.dir + "/rootfs.tar"
        #expect(Subprocess.run(["tar", "-C", rootfs, "-cf", tarball, "."]).status == 0)
        let r = try d.berth(["import", tarball, "bb:1"])
        guard r.status == 0 else { throw TestFailure("import failed: \(r.err)") }
        return d
    }

    /// Every container removed before the test's berthd goes: shims outlive
    /// berthd by design, so a test that left containers running would leave
    /// their shims, processes and mounts behind.
    static func removeAll(_ d: Daemon) {
        guard let ids = try? d.berth(["ps", "-aq", "--no-trunc"]).out.split(separator: "\n").map(String.init), !ids.isEmpty else { return }
        _ = try? d.berth(["rm", "-f"] + ids)
    }

    static func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

    static func isID(_ s: String) -> Bool { s.count == 64 && s.allSatisfy { "0123456789abcdef".contains($0) } }

    static func seconds(_ body: () throws -> Void) throws -> Double {
        let t0 = Clock.monotonicMillis()
        try body()
        return Double(Clock.monotonicMillis() - t0) / 1000
    }

    @Test func foregroundAndDetachedRuns() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            // Foreground: output on the right streams, the container's status.
            var r = try d.berth(["run", "bb:1", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(r.status == 3 && r.out == "out\n" && r.err == "err\n", "\(r)")
            r = try d.berth(["run", "--rm", "-e", "GREETING=hi", "bb:1", "sh", "-c", "echo $GREETING"])
            #expect(r.status == 0 && r.out == "hi\n", "\(r)")
            // Docker's 127, 126 and 125.
            r = try d.berth(["run", "bb:1", "nosuchcommand"])
            #expect(r.status == 127 && r.err.contains("executable file not found") && r.err.hasSuffix("See 'berth run --help'.\n"), "\(r)")
            r = try d.berth(["run", "bb:1", "/etc/passwd"])
            #expect(r.status == 126, "\(r)")
            r = try d.berth(["run", "nosuch:image", "true"])
            #expect(r.status == 125 && r.err.contains("Unable to find image 'nosuch:image' locally"), "\(r)")
            r = try d.berth(["run", "-m", "12x", "bb:1"])
            #expect(r.status == 125 && r.err == "berth: invalid argument \"12x\" for \"-m, --memory\" flag: invalid size: '12x'\nSee 'berth run --help'.\n")

            // Detached: the full id on stdout, the container listed as up.
            r = try d.berth(["run", "-d", "--name", "web", "bb:1", "sleep", "1000"])
            let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(r.status == 0 && Self.isID(id), "\(r)")
            r = try d.berth(["ps"])
            let table = Self.lines(r.out)
            #expect(table.first?.hasPrefix("CONTAINER ID   IMAGE     COMMAND") == true && table.first?.hasSuffix("NAMES") == true, "\(r.out)")
            #expect(table.count == 2 && table[1].hasPrefix(String(id.prefix(12)) + "   bb:1      \"sleep 1000\"") && table[1].contains(" Up ")
                    && table[1].hasSuffix("web"), "\(r.out)")
            #expect(try d.berth(["ps", "-q"]).out == String(id.prefix(12)) + "\n")
            #expect(try d.berth(["ps", "-q", "--no-trunc"]).out == id + "\n")
            #expect(try d.berth(["ps", "-a", "--filter", "status=exited", "--format", "{{.Status}}"]).out
                        .split(separator: "\n").contains { $0.hasPrefix("Exited (3) ") })
            #expect(try d.berth(["ps", "-l", "--format", "{{.Names}}"]).out == "web\n")

            // The name is taken: Docker's conflict, naming the other container.
            r = try d.berth(["run", "-d", "--name", "web", "bb:1", "true"])
            #expect(r.status == 125 && r.err.contains("The container name \"/web\" is already in use by container \"\(id)\""), "\(r.err)")
            // A prefix of the id works as a name does.
            #expect(try d.berth(["inspect", "-f", "{{.Name}} {{.State.Status}}", String(id.prefix(5))]).out == "/web running\n")

            // rm of a running container is refused; rm -f removes it; the name is echoed.
            r = try d.berth(["rm", "web"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon: "), "\(r)")
            r = try d.berth(["rm", "-f", "web", "nosuch"])
            #expect(r.status == 1 && r.out == "web\n" && r.err == "Error response from daemon: No such container: nosuch\n", "\(r)")
            #expect(try d.berth(["ps", "-q"]).out.isEmpty)
        }
    }

    /// A command that exits before berthd starts relaying (berthd handled the exit
    /// first) still has its output delivered: the relay drains what the shim sent.
    /// On a user-defined network every start and exit also updates the network's
    /// names, which competes for the containers' locks and widens that window.
    @Test func quickRunsNeverLoseTheirOutput() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d); _ = try? d.berth(["network", "rm", "quick"]) }
            #expect(try d.berth(["network", "create", "quick"]).status == 0)
            let failures = Mutex<[String]>([])
            nonisolated(unsafe) let daemon = d    // berth runs are independent processes
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for i in 0..<6 {
                    let r = try? daemon.berth(["run", "--rm", "--network", "quick", "bb:1", "sh", "-c", "echo out-\(worker)-\(i); echo err-\(worker)-\(i) >&2"])
                    if r?.status != 0 || r?.out != "out-\(worker)-\(i)\n" || r?.err != "err-\(worker)-\(i)\n" {
                        failures.withLock { $0.append("\(worker)-\(i): \(String(describing: r))") }
                    }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        }
    }

    @Test func stopStartKeepsTheWritableLayer() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            var r = try d.berth(["run", "-d", "--name", "percy", "bb:1", "sh", "-c", "echo 'sysadmins FTW' > /newfile; exec sleep 1000"])
            #expect(r.status == 0)
            try ContainerRestartTests.waitFor("the file") { try d.berth(["exec", "percy", "cat", "/newfile"]).status == 0 }
            r = try d.berth(["stop", "-t", "1", "percy"])
            #expect(r.status == 0 && r.out == "percy\n")
            #expect(try d.berth(["ps", "-q"]).out.isEmpty)
            #expect(try d.berth(["ps", "-a", "--format", "{{.Names}} {{.State}}"]).out == "percy exited\n")
            r = try d.berth(["start", "percy"])
            #expect(r.status == 0 && r.out == "percy\n")
            r = try d.berth(["exec", "percy", "cat", "/newfile"])
            #expect(r.out == "sysadmins FTW\n", "\(r)")
            // A new container from the same image starts clean.
            r = try d.berth(["run", "--rm", "bb:1", "cat", "/newfile"])
            #expect(r.status == 1 && r.err.contains("No such file"), "\(r)")
            // Several names at once; the failures are reported at the end.
            r = try d.berth(["start", "nosuch", "percy"])
            #expect(r.status == 1 && r.out == "percy\n" && r.err.contains("No such container: nosuch")
                    && r.err.hasSuffix("Error: failed to start containers: nosuch\n"), "\(r)")
            #expect(try d.berth(["kill", "percy"]).out == "percy\n")
            #expect(try d.berth(["wait", "percy"]).out == "137\n")
        }
    }

    /// `--rm`: the writable layer is a volatile overlay (nothing synced at its
    /// unmount: it is thrown away), a kept container's is not. Once `run --rm`
    /// returns the container is gone from `ps -a` and its name is free; its
    /// layers, bundle, mount, shim and log directory go right after.
    @Test func rmContainersAreVolatileAndLeaveNothing() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            let rootOptions = "while read -r dev dir type opts rest; do [ \"$dir\" = / ] && echo \"$opts\"; done < /proc/mounts; true"
            let layers = d.root + "/snapshots/snapshots/overlayfs"
            let layersBefore = try FileManager.default.contentsOfDirectory(atPath: layers).sorted()
            var r = try d.berth(["run", "--rm", "--name", "brief", "bb:1", "sh", "-c", rootOptions])
            #expect(r.status == 0 && r.out.contains("upperdir=") && r.out.contains("volatile"), "\(r)")
            #expect(try d.berth(["ps", "-aq"]).out.isEmpty)
            r = try d.berth(["run", "--rm", "--name", "brief", "bb:1", "sh", "-c", "exit 4"])
            #expect(r.status == 4, "the name is free at once: \(r)")
            try ContainerRestartTests.waitFor("the teardown") {
                let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
                return try FileManager.default.contentsOfDirectory(atPath: layers).sorted() == layersBefore
                    && FileManager.default.contentsOfDirectory(atPath: d.state + "/containers").isEmpty
                    && FileManager.default.contentsOfDirectory(atPath: d.root + "/containers").isEmpty
                    && !mounts.contains(d.state + "/")
                    && Subprocess.run(["pgrep", "-f", "berth-shim start .*" + d.state]).status != 0
            }
            r = try d.berth(["run", "--name", "kept", "bb:1", "sh", "-c", rootOptions])
            #expect(r.status == 0 && r.out.contains("upperdir=") && !r.out.contains("volatile"), "\(r)")
        }
    }

    /// A running container's rootfs is mounted in its shim's mount namespace,
    /// never the host's: the host's mount table does not grow with the running
    /// containers. What berthd does with a running rootfs (cp, exec -u NAME)
    /// goes through the shim's namespace.
    @Test func theRootfsIsMountedInTheShimsNamespaceNotTheHosts() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            let ids = try ["ns1", "ns2"].map { name in
                let r = try d.berth(["run", "-d", "--name", name, "bb:1", "sleep", "1000"])
                #expect(r.status == 0, "\(r)")
                return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            // Read with cat: a large /proc file can come back cut from Foundation.
            let hostMounts = Subprocess.run(["cat", "/proc/\(getpid())/mountinfo"]).output
            #expect(!hostMounts.contains(d.state + "/containers/"), "a container's rootfs is mounted on the host:\n\(hostMounts)")
            let ownNamespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")) ?? "?"
            for id in ids {
                let shim = try ContainerRestartTests.shimPid(d, id)
                #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(shim)/ns/mnt")) != ownNamespace)
                let shimMounts = Subprocess.run(["cat", "/proc/\(shim)/mountinfo"]).output
                #expect(shimMounts.contains(d.state + "/containers/\(id)/rootfs"), "the shim has no rootfs mount:\n\(shimMounts)")
            }
            // cp and exec -u resolve inside the rootfs, through the shim.
            let file = d.dir + "/note.txt"
            try "from the host\n".write(toFile: file, atomically: true, encoding: .utf8)
            var r = try d.berth(["cp", file, "ns1:/tmp/note.txt"])
            #expect(r.status == 0, "\(r)")
            r = try d.berth(["exec", "ns1", "cat", "/tmp/note.txt"])
            #expect(r.status == 0 && r.out == "from the host\n", "\(r)")
            r = try d.berth(["cp", "ns1:/etc/passwd", d.dir + "/passwd"])
            #expect(r.status == 0 && FileManager.default.fileExists(atPath: d.dir + "/passwd"), "\(r)")
            let passwd = d.dir + "/passwd.new"
            try "root:x:0:0:root:/root:/bin/sh\ntester:x:1234:1235::/:/bin/sh\n".write(toFile: passwd, atomically: true, encoding: .utf8)
            #expect(try d.berth(["cp", passwd, "ns2:/etc/passwd"]).status == 0)
            r = try d.berth(["exec", "-u", "tester", "ns2", "id", "-u"])
            #expect(r.status == 0 && r.out == "1234\n", "\(r)")
            #expect(try d.berth(["rm", "-f", "ns1", "ns2"]).status == 0)
        }
    }

    /// Docker keeps a `--rm` container through `restart`; the next stop removes it.
    @Test func restartKeepsAnRmContainerAndItsFiles() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            var r = try d.berth(["run", "-d", "--rm", "--name", "again", "bb:1", "sh", "-c", "echo up >> /count; exec sleep 1000"])
            #expect(r.status == 0, "\(r)")
            r = try d.berth(["restart", "-t", "1", "again"])
            #expect(r.status == 0 && r.out == "again\n", "\(r)")
            #expect(try d.berth(["inspect", "-f", "{{.State.Status}}", "again"]).out == "running\n")
            // The writable layer outlived the restart: the second start appended to the first one's file.
            #expect(try d.berth(["exec", "again", "cat", "/count"]).out == "up\nup\n")
            r = try d.berth(["stop", "-t", "1", "again"])
            #expect(r.status == 0, "\(r)")
            try ContainerRestartTests.waitFor("the removal after the stop") { try d.berth(["ps", "-aq"]).out.isEmpty }
        }
    }

    @Test func stopOfAProcessIgnoringSIGTERMTakesTheTimeout() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            // sh as PID 1 ignores SIGTERM (no handler): SIGKILL after -t.
            #expect(try d.berth(["run", "-d", "--name", "stubborn", "bb:1", "sh", "-c", "while true; do sleep 1; done"]).status == 0)
            var out = ""
            let took = try Self.seconds { out = try d.berth(["stop", "-t", "2", "stubborn"]).out }
            #expect(out == "stubborn\n")
            #expect(took >= 1.8 && took < 6, "stop took \(took) s")
            #expect(try d.berth(["inspect", "-f", "{{.State.ExitCode}}", "stubborn"]).out == "137\n")
            // A process that handles SIGTERM stops at once.
            #expect(try d.berth(["run", "-d", "--name", "polite", "bb:1", "sh", "-c", "trap 'exit 0' TERM; echo trapped; while true; do sleep 0.1; done"]).status == 0)
            try ContainerRestartTests.waitFor("the trap") { try d.berth(["logs", "polite"]).out == "trapped\n" }
            let quick = try Self.seconds { out = try d.berth(["stop", "polite"]).out }
            #expect(out == "polite\n")
            #expect(quick < 3, "stop took \(quick) s")
            #expect(try d.berth(["ps", "-a", "--filter", "name=polite", "--format", "{{.Status}}"]).out.hasPrefix("Exited (0) "))
        }
    }

    @Test func execLogsAndPidOne() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            #expect(try d.berth(["run", "-d", "--name", "app", "bb:1", "sh", "-c", "echo start; echo oops >&2; exec sleep 1000"]).status == 0)
            try ContainerRestartTests.waitFor("the log") { try d.berth(["logs", "app"]).out == "start\n" }
            var r = try d.berth(["logs", "app"])
            #expect(r.out == "start\n" && r.err == "oops\n", "stdout and stderr records stay apart: \(r)")
            r = try d.berth(["logs", "-t", "--tail", "1", "app"])
            #expect(r.out.isEmpty && r.err.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n$"#, options: .regularExpression) != nil, "\(r)")
            #expect(try d.berth(["logs", "--since", "1h", "app"]).out == "start\n")
            #expect(try d.berth(["logs", "--until", "2000-01-01", "app"]).out == "")

            // exec: the status of the process; an exec'd shell ending leaves the container up.
            r = try d.berth(["exec", "app", "sh", "-c", "echo in; exit 4"])
            #expect(r.status == 4 && r.out == "in\n", "\(r)")
            #expect(try d.berth(["exec", "app", "nosuch"]).status == 127)
            r = try Self.berth(d, ["exec", "-i", "-e", "X=1", "app", "sh", "-c", "read line; echo got $line $X"], input: "typed\n")
            #expect(r.status == 0 && r.out == "got typed 1\n", "\(r)")
            #expect(try d.berth(["exec", "-d", "app", "sleep", "5"]).status == 0)
            #expect(try d.berth(["inspect", "-f", "{{.State.Running}}", "app"]).out == "true\n")
            r = try d.berth(["top", "app"])
            #expect(Self.lines(r.out).first?.hasPrefix("UID ") == true && r.out.contains("sleep 1000"), "\(r)")

            // PID 1 decides: when it ends, the container stops with its status.
            #expect(try d.berth(["run", "-d", "--name", "brief", "bb:1", "sh", "-c", "exit 7"]).status == 0)
            #expect(try d.berth(["wait", "brief"]).out == "7\n")
            #expect(try d.berth(["ps", "-a", "--filter", "name=brief", "--format", "{{.Status}}"]).out.hasPrefix("Exited (7) "))
            // The log stays after the container stopped.
            #expect(try d.berth(["stop", "-t", "0", "app"]).status == 0)
            #expect(try d.berth(["logs", "app"]).out == "start\n")
            // stdin piped into run -i.
            r = try Self.berth(d, ["run", "-i", "--rm", "bb:1", "sh", "-c", "tr a-z A-Z"], input: "hello\n")
            #expect(r.status == 0 && r.out == "HELLO\n", "\(r)")
        }
    }

    @Test func cidfileAndCreate() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            let cid = d.dir + "/web.cid"
            var r = try d.berth(["create", "--cidfile", cid, "--name", "created", "bb:1", "echo", "later"])
            let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(r.status == 0 && Self.isID(id), "\(r)")
            #expect((try? String(contentsOfFile: cid, encoding: .utf8)) == id)
            r = try d.berth(["create", "--cidfile", cid, "bb:1"])
            #expect(r.status == 125 && r.err.hasPrefix("berth: container ID file found, make sure the other container isn't running or delete \(cid)"), "\(r)")
            #expect(try d.berth(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).out == "created Created\n")
            r = try d.berth(["start", "-a", "created"])
            #expect(r.status == 0 && r.out == "later\n", "\(r)")
        }
    }

    @Test func inspectAndEvents() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            #expect(try d.berth(["run", "--name", "ev", "-l", "tier=web", "bb:1", "true"]).status == 0)
            var r = try d.berth(["inspect", "ev"])
            let parsed = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]]
            #expect(parsed?.count == 1 && (parsed?.first?["Name"] as? String) == "/ev", "\(r.out)")
            #expect(r.out.hasPrefix("[\n    {\n        \"Id\": "), "four-space indentation as Docker: \(r.out.prefix(40))")
            r = try d.berth(["inspect", "--format", "{{index .Config.Labels \"tier\"}} {{.State.ExitCode}}", "ev"])
            #expect(r.out == "web 0\n")
            r = try d.berth(["inspect", "--format", "{{.Id}}", "bb:1"])
            #expect(r.out.hasPrefix("sha256:"), "the generic inspect finds images: \(r)")
            r = try d.berth(["inspect", "nosuch"])
            #expect(r.status == 1 && r.out == "[]\n" && r.err == "Error: No such object: nosuch\n", "\(r)")
            r = try d.berth(["container", "inspect", "nosuch"])
            #expect(r.status == 1 && r.err == "Error response from daemon: No such container: nosuch\n", "\(r)")
            r = try d.berth(["ps", "-a", "--format", "table {{.Names}}\t{{.Label \"tier\"}}"])
            #expect(r.out == "NAMES     LABEL\nev        web\n", "\(r.out)")

            r = try d.berth(["events", "--since", "1m", "--until", "0s", "--filter", "container=ev"])
            let actions = Self.lines(r.out).map { $0.split(separator: " ").dropFirst(2).first.map(String.init) ?? "" }
            #expect(actions == ["create", "start", "die"], "\(r)")
            #expect(r.out.contains("(exitCode=0, image=bb:1, name=ev, tier=web)"), "\(r.out)")
            r = try d.berth(["events", "--since", "1m", "--until", "0s", "--filter", "event=die", "--format", "{{.Actor.Attributes.name}} {{.Action}}"])
            #expect(r.out == "ev die\n", "\(r)")
        }
    }

    @Test func pullsAMissingImageFirst() async throws {
        try ImageCommandsTests.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        _ = try await ImageCommandsTests.pushBusybox(registry, "test/busybox:1")
        try await offPool {
            let d = Daemon()
            try d.start()
            let image = registry.host + "/test/busybox:1"
            let r = try d.berth(["run", "--rm", image, "echo", "pulled"])
            #expect(r.status == 0 && r.out == "pulled\n", "only the container's output on stdout: \(r)")
            #expect(r.err.hasPrefix("Unable to find image '\(image)' locally\n") && r.err.contains("Pull complete")
                    && r.err.contains("Status: Downloaded newer image for \(image)"), "\(r.err)")
            // Present now: no pull.
            let again = try d.berth(["run", "--rm", image, "true"])
            #expect(again.status == 0 && again.err.isEmpty, "\(again)")
        }
    }

    @Test func filesDiffCommitExportUpdate() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            #expect(try d.berth(["run", "-d", "--name", "files", "bb:1", "sleep", "1000"]).status == 0)
            let host = d.dir + "/host"
            try FileManager.default.createDirectory(atPath: host + "/dir/sub", withIntermediateDirectories: true)
            try "hello\n".write(toFile: host + "/note.txt", atomically: true, encoding: .utf8)
            try "a\n".write(toFile: host + "/dir/sub/a", atomically: true, encoding: .utf8)

            // Into the container: into a directory, renamed to a new path, a directory's content, a tar on stdin.
            #expect(try d.berth(["cp", host + "/note.txt", "files:/tmp"]).status == 0)
            #expect(try d.berth(["cp", host + "/note.txt", "files:/renamed.txt"]).status == 0)
            #expect(try d.berth(["cp", host + "/dir", "files:/etc"]).status == 0)
            #expect(try d.berth(["cp", host + "/dir/.", "files:/content"]).status == 0)
            var r = try d.berth(["exec", "files", "cat", "/tmp/note.txt", "/renamed.txt", "/etc/dir/sub/a", "/content/sub/a"])
            #expect(r.out == "hello\nhello\na\na\n", "\(r)")
            var sh = Subprocess.run(["sh", "-c", "tar -C '\(host)' -cf - note.txt | '\(DaemonProcessTests.berth)' -H unix://\(d.socket) cp - files:/"])
            #expect(sh.status == 0, "\(sh.output)")
            r = try d.berth(["exec", "files", "cat", "/note.txt"])
            #expect(r.out == "hello\n", "\(r) after cp: \(sh.output)")
            r = try d.berth(["cp", host + "/note.txt", "nosuch:/"])
            #expect(r.status == 1 && r.err == "Error response from daemon: No such container: nosuch\n", "\(r)")

            // Out of it: into a directory, to a new name, as a tar on stdout.
            let out = d.dir + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            #expect(try d.berth(["cp", "files:/etc/passwd", out]).status == 0)
            #expect(try d.berth(["cp", "files:/etc/dir", out + "/copied"]).status == 0)
            #expect((try? String(contentsOfFile: out + "/passwd", encoding: .utf8))?.hasPrefix("root:") == true)
            #expect((try? String(contentsOfFile: out + "/copied/sub/a", encoding: .utf8)) == "a\n")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["passwd", "copied"], "no staging directory left")
            sh = Subprocess.run(["sh", "-c", "'\(DaemonProcessTests.berth)' -H unix://\(d.socket) cp files:/etc/passwd - | tar -tf -"])
            #expect(sh.output == "passwd\n", "\(sh.output)")
            r = try d.berth(["cp", "files:/nonexistent", out])
            #expect(r.status == 1 && r.err.contains("/nonexistent"), "\(r)")

            // diff, commit (with a change), export.
            r = try d.berth(["diff", "files"])
            let diff = Self.lines(r.out)
            #expect(diff.contains("A /renamed.txt") && diff.contains("C /etc") && diff.contains("A /etc/dir/sub/a"), "\(r.out)")
            r = try d.berth(["commit", "-m", "snapshot", "-a", "tester", "-c", "CMD [\"cat\", \"/renamed.txt\"]", "files", "snap:1"])
            #expect(r.status == 0 && r.out.hasPrefix("sha256:") && r.out.count == 72, "\(r)")
            #expect(try d.berth(["run", "--rm", "snap:1"]).out == "hello\n")
            #expect(try d.berth(["inspect", "-f", "{{.Author}} {{.Comment}}", "snap:1"]).out == "tester snapshot\n")
            sh = Subprocess.run(["sh", "-c", "'\(DaemonProcessTests.berth)' -H unix://\(d.socket) export files | tar -tf - | grep -c renamed.txt"])
            #expect(sh.output == "1\n", "\(sh.output)")
            #expect(try d.berth(["export", "-o", d.dir + "/fs.tar", "files"]).status == 0)
            #expect(Subprocess.run(["tar", "-tf", d.dir + "/fs.tar", "./bin/busybox"]).status == 0 ||
                    Subprocess.run(["tar", "-tf", d.dir + "/fs.tar", "bin/busybox"]).status == 0)

            // update: resources and restart policy, seen in inspect.
            r = try d.berth(["update", "--cpus", "0.5", "-m", "64m", "--memory-swap", "-1", "--restart", "on-failure:2", "files"])
            #expect(r.status == 0 && r.out == "files\n", "\(r)")
            r = try d.berth(["inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "files"])
            #expect(r.out == "500000000 67108864 on-failure:2\n", "\(r)")
            r = try d.berth(["update", "files"])
            #expect(r.status == 1 && r.err == "you must provide one or more flags when using this command\n", "\(r)")
            r = try d.berth(["port", "files"])
            #expect(r.status == 0 && r.out.isEmpty, "\(r)")
        }
    }

    @Test func followStatsPauseRenameRestart() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            // logs -f prints what comes and ends with the container.
            #expect(try d.berth(["run", "-d", "--name", "talker", "bb:1", "sh", "-c", "echo one; sleep 1; echo two >&2; sleep 0.5"]).status == 0)
            var r = try d.berth(["logs", "-f", "talker"])
            #expect(r.status == 0 && r.out == "one\n" && r.err == "two\n", "\(r)")

            #expect(try d.berth(["run", "-d", "--name", "busy", "bb:1", "sleep", "1000"]).status == 0)
            r = try d.berth(["stats", "--no-stream", "busy"])
            let rows = Self.lines(r.out)
            #expect(rows.first?.hasPrefix("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT") == true && rows.first?.hasSuffix("PIDS") == true, "\(r)")
            #expect(rows.count == 2 && rows[1].contains("   busy   ") && rows[1].hasSuffix("1"), "\(r.out)")
            r = try d.berth(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "busy"])
            #expect(r.out == "busy 1\n", "\(r)")
            r = try d.berth(["stats", "--no-stream", "nosuch"])
            #expect(r.status == 1 && r.err == "Error response from daemon: No such container: nosuch\n", "\(r)")

            #expect(try d.berth(["pause", "busy"]).out == "busy\n")
            #expect(try d.berth(["ps", "--format", "{{.Status}}"]).out.hasSuffix("(Paused)\n"))
            #expect(try d.berth(["unpause", "busy"]).out == "busy\n")
            #expect(try d.berth(["rename", "busy", "renamed"]).status == 0)
            #expect(try d.berth(["ps", "--format", "{{.Names}}"]).out == "renamed\n")
            // The old name is free at once and no longer finds the container; the new one does.
            r = try d.berth(["inspect", "-f", "{{.Name}}", "busy"])
            #expect(r.status == 1 && r.err.contains("No such"), "\(r)")
            r = try d.berth(["create", "--name", "busy", "bb:1", "true"])
            #expect(r.status == 0, "\(r)")
            #expect(try d.berth(["rm", "busy"]).status == 0)
            let before = try d.berth(["inspect", "-f", "{{.State.StartedAt}}", "renamed"]).out
            #expect(try d.berth(["restart", "-t", "0", "renamed"]).out == "renamed\n")
            let after = try d.berth(["inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", "renamed"]).out
            #expect(after != before && after.hasSuffix(" true\n"), "\(before) \(after)")
            r = try d.berth(["container", "prune", "-f"])
            #expect(r.status == 0 && r.out.hasPrefix("Deleted Containers:\n") && r.out.contains("Total reclaimed space: "), "\(r)")
            #expect(try d.berth(["ps", "-a", "--format", "{{.Names}}"]).out == "renamed\n", "only the running one is left")
        }
    }

    /// Drives berth under a pty: `steps` are "wait:TEXT", "send:TEXT"
    /// (Python escapes), "resize:ROWS,COLS", "sleep:SECONDS".
    static let ptyDriver = #"""
    import os, pty, sys, time, select, fcntl, termios, struct
    i = sys.argv.index("--")
    steps, argv = sys.argv[1:i], sys.argv[i+1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
    out = b""
    def pump(timeout):
        global out
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return False
                if not data:
                    return False
                out += data
        return True
    for s in steps:
        kind, _, arg = s.partition(":")
        if kind == "wait":
            end = time.time() + 15
            while arg.encode() not in out and time.time() < end:
                if not pump(0.1): break
        elif kind == "send":
            os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "resize":
            r, c = arg.split(",")
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", int(r), int(c), 0, 0))
        elif kind == "sleep":
            pump(float(arg))
    end = time.time() + 15
    while pump(0.2) and time.time() < end: pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.stdout.write("\n[status %d]\n" % os.waitstatus_to_exitcode(status))
    """#

    static func underPty(_ d: Daemon, _ steps: [String], _ args: [String]) throws -> (output: String, status: Int) {
        let script = d.dir + "/drive_pty.py"
        try ptyDriver.write(toFile: script, atomically: true, encoding: .utf8)
        let r = Subprocess.run(["python3", script] + steps + ["--", DaemonProcessTests.berth, "-H", "unix://" + d.socket] + args)
        guard let open = r.output.range(of: "\n[status ", options: .backwards) else { return (r.output, -1) }
        let status = Int(r.output[open.upperBound...].prefix { $0 == "-" || $0.isNumber }) ?? -1
        return (String(r.output[..<open.lowerBound]), status)
    }

    @Test func interactiveTerminalDetachAndAttach() async throws {
        guard Subprocess.which("python3") else { throw TestFailure("python3 is needed for the pty tests") }
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            // -it: a prompt, the terminal's size (and its change), Ctrl-P Ctrl-Q leaves it running.
            var r = try Self.underPty(d, ["wait:# ", "send:busybox stty size\r", "wait:30 90", "resize:50,120", "sleep:0.3",
                                          "send:busybox stty size\r", "wait:50 120", "send:echo $((6*7))\r", "wait:42", "send:\\x10\\x11"],
                                      ["run", "-it", "--name", "shell", "bb:1", "sh"])
            #expect(r.status == 0 && r.output.contains("30 90") && r.output.contains("50 120") && r.output.contains("42"), "\(r.output)")
            #expect(try d.berth(["ps", "--format", "{{.Names}} {{.State}}"]).out == "shell running\n", "detached, still running")
            // attach again; exit from PID 1 ends the container and attach returns its status.
            r = try Self.underPty(d, ["send:\r", "wait:# ", "send:exit 3\r"], ["attach", "shell"])
            #expect(r.status == 3, "\(r.output)")
            #expect(try d.berth(["ps", "-a", "--format", "{{.Status}}"]).out.hasPrefix("Exited (3) "))
            // Other detach keys; exec -it into a running container.
            #expect(try d.berth(["run", "-d", "-it", "--name", "bg", "bb:1", "sh"]).status == 0)
            r = try Self.underPty(d, ["wait:# ", "send:echo exec-$((1+1))\r", "wait:exec-2", "send:\\x01x"],
                                  ["exec", "-it", "--detach-keys", "ctrl-a,x", "bg", "sh"])
            #expect(r.status == 0 && r.output.contains("exec-2"), "\(r.output)")
            r = try Self.underPty(d, ["wait:# ", "send:exit 0\r"], ["exec", "-it", "bg", "sh"])
            #expect(r.status == 0, "\(r.output)")
            #expect(try d.berth(["inspect", "-f", "{{.State.Running}}", "bg"]).out == "true\n", "an exec'd shell leaving does not stop the container")
            // run -it with a pipe on stdin: Docker's refusal.
            let p = try Self.berth(d, ["run", "-it", "bb:1", "sh"], input: "")
            #expect(p.status == 1 && p.err == "the input device is not a TTY\n", "\(p)")
        }
    }

    @Test func sigProxyForwardsSignalsWithoutATerminal() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { Self.removeAll(d) }
            let log = d.dir + "/fg.log"
            let pid = Subprocess.spawn([DaemonProcessTests.berth, "-H", "unix://" + d.socket, "run", "--name", "fg", "bb:1",
                                        "sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done"], log: log)
            try ContainerRestartTests.waitFor("the container") { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("ready") }
            kill(pid, SIGTERM)
            let status = Subprocess.wait(pid)
            #expect(status == 9, "berth exits with the container's status: \(status)")
            #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("got-term"))
        }
    }
}
