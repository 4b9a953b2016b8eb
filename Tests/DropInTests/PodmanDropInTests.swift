// podman 4.3 (rootful, cgroupfs, conmon) with `--runtime berth-runtime`. Each scenario
// asserts what a podman user sees, and runs with runc too (the reference) unless
// BERTH_DROPIN_RUNTIMES says otherwise. Most scenarios use --network host; the private
// network namespace case (podman's default sysctl) has a scenario of its own.

import Foundation
import Glibc
import Testing

extension DropInTests {
    @Suite("podman 4.3 (conmon, cgroupfs)",
           .enabled(if: Deps.podmanReady, "podman, conmon or runc unavailable (not root, or tests/dropin/install-deps.sh could not install them): reason on stderr"),
           .privatePodmanStore)
    struct Podman {
        private func store() throws -> PodmanStore {
            try #require(PodmanStore.current, "the private podman store is missing")
        }

        private static let hostNet = ["--network", "host"] + PodmanStore.ulimits

        /// `podman run -d --name NAME ... IMG COMMAND`, then waits until it is running.
        private func startDetached(_ s: PodmanStore, _ rt: OCIRuntime, _ name: String,
                                   _ command: [String] = ["sleep", "1000"]) throws {
            let r = s.podman(rt, ["run", "-d", "--name", name] + Self.hostNet + [DropIn.imageName] + command)
            try #require(r.status == 0, "podman run -d failed:\n\(r)")
            let up = eventually(timeout: 15) { s.inspect(name, "{{.State.Status}}") == "running" }
            try #require(up, "\(name) is not running: \(s.inspect(name, "{{.State.Status}}"))")
        }

        @Test("podman run --rm IMG echo hello prints hello", arguments: OCIRuntime.selected)
        func runPrintsHello(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-hello"
            defer { s.remove(rt, name) }
            let r = s.podman(rt, ["run", "--rm", "--name", name] + Self.hostNet + [DropIn.imageName, "echo", "hello"])
            #expect(r.status == 0 && r.stdout == "hello\n", "\(r)")
        }

        @Test("podman run in its own network namespace (podman's default sysctl, read-only /proc/sys)",
              arguments: OCIRuntime.selected)
        func runPrivateNetwork(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-netns"
            defer { s.remove(rt, name) }
            // podman adds linux.sysctl net.ipv4.ping_group_range="0 0" and lists /proc/sys in
            // linux.readonlyPaths: the runtime must write sysctls before making /proc/sys read-only.
            let r = s.podman(rt, ["run", "--rm", "--name", name, "--network", "none"] + PodmanStore.ulimits
                             + [DropIn.imageName, "cat", "/proc/sys/net/ipv4/ping_group_range"])
            #expect(r.status == 0 && r.stdout.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) == ["0", "0"], "\(r)")
        }

        @Test("podman run --sysctl (an IPC sysctl with --network host) is applied", arguments: OCIRuntime.selected)
        func runWithSysctl(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-sysctl"
            defer { s.remove(rt, name) }
            let r = s.podman(rt, ["run", "--rm", "--name", name, "--sysctl", "kernel.msgmax=4096"] + Self.hostNet
                             + [DropIn.imageName, "cat", "/proc/sys/kernel/msgmax"])
            #expect(r.status == 0 && r.stdout == "4096\n", "\(r)")
        }

        @Test("podman run --read-only and --tmpfs: tmpfs mounts with podman's tmpcopyup option", arguments: OCIRuntime.selected)
        func readOnlyAndTmpfs(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-readonly"
            defer { s.remove(rt, name) }
            // --read-only mounts /tmp, /var/tmp and /run as tmpfs, and --tmpfs adds one: podman
            // gives each the option "tmpcopyup" (copy what the image has there into the new
            // tmpfs). A tmpfs on /bin shows the copy: busybox and its applet links are still there.
            let script = "touch /x 2>/dev/null && echo root-writable; touch /tmp/t && echo tmp-writable; "
                + "touch /var/tmp/t && echo vartmp-writable; echo applets=$(ls /bin | wc -l); "
                + "grep -c ' /bin tmpfs ' /proc/mounts"
            let r = s.podman(rt, ["run", "--rm", "--name", name, "--read-only", "--tmpfs", "/bin:size=64m"] + Self.hostNet
                             + [DropIn.imageName, "/bin/busybox", "sh", "-c", script])
            #expect(r.status == 0, "\(r)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("tmp-writable") && lines.contains("vartmp-writable") && !lines.contains("root-writable"), "\(r)")
            let applets = Int(lines.first { $0.hasPrefix("applets=") }?.dropFirst(8) ?? "") ?? 0
            #expect(applets > 100 && lines.last == "1", "/bin should be a tmpfs holding a copy of the image's /bin:\n\(r)")
        }

        @Test("the exit code propagates: sh -c 'exit 3' → 3; missing command → 127; not executable → 126",
              arguments: OCIRuntime.selected)
        func exitCodes(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-exit"
            defer { s.remove(rt, name) }
            let three = s.podman(rt, ["run", "--rm", "--name", name] + Self.hostNet + [DropIn.imageName, "sh", "-c", "exit 3"])
            #expect(three.status == 3, "\(three)")
            // podman maps the runtime's error text to 127/126 (getOCIRuntimeError).
            let missing = s.podman(rt, ["run", "--rm", "--name", name] + Self.hostNet + [DropIn.imageName, "nosuchcommand"])
            #expect(missing.status == 127 && missing.stderr.contains("executable file not found in $PATH"), "\(missing)")
            let notExec = s.podman(rt, ["run", "--rm", "--name", name] + Self.hostNet + [DropIn.imageName, "/etc/passwd"])
            #expect(notExec.status == 126 && notExec.stderr.contains("permission denied"), "\(notExec)")
        }

        @Test("podman run -d: podman ps shows it Up, and this runtime runs it", arguments: OCIRuntime.selected)
        func detachedRunsUnderThisRuntime(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-x"
            defer { s.remove(rt, name) }
            try startDetached(s, rt, name)
            let ps = s.podman(nil, ["ps", "--format", "{{.Names}} {{.Status}}"])
            #expect(ps.status == 0 && ps.stdout.split(separator: "\n").contains { $0.hasPrefix("\(name) Up") }, "\(ps)")
            let binary = try s.binary(rt)
            #expect(s.inspect(name, "{{.OCIRuntime}}") == binary)
            let id = s.inspect(name, "{{.Id}}")
            #expect(id.count == 64)
            let list = run([binary, "--root", s.runtimeDefaultRoot(rt), "list"])
            #expect(list.status == 0 && list.stdout.split(separator: "\n").contains { $0.hasPrefix(id) && $0.contains("running") },
                    "the runtime does not list \(id):\n\(list)")
        }

        @Test("podman exec: output, exit code, --user, --workdir, --env", arguments: OCIRuntime.selected)
        func exec(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-exec"
            defer { s.remove(rt, name) }
            try startDetached(s, rt, name)
            let hi = s.podman(rt, ["exec", name, "echo", "hi"])
            #expect(hi.status == 0 && hi.stdout == "hi\n", "\(hi)")
            let five = s.podman(rt, ["exec", name, "sh", "-c", "exit 5"])
            #expect(five.status == 5, "\(five)")
            let user = s.podman(rt, ["exec", "--user", "1000:1000", name, "id"])
            #expect(user.status == 0 && user.stdout.hasPrefix("uid=1000 gid=1000"), "\(user)")
            let env = s.podman(rt, ["exec", "--workdir", "/tmp", "--env", "FOO=bar", name, "sh", "-c", "pwd; echo $FOO"])
            #expect(env.status == 0 && env.stdout == "/tmp\nbar\n", "\(env)")
            let missing = s.podman(rt, ["exec", name, "nosuchcommand"])
            #expect(missing.status == 127, "\(missing)")
        }

        @Test("podman exec -t and podman run -t: a terminal (tty prints /dev/pts/0)", arguments: OCIRuntime.selected)
        func terminals(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-tty"
            let runName = "\(rt.rawValue)-ttyrun"
            defer {
                s.remove(rt, name)
                s.remove(rt, runName)
            }
            try startDetached(s, rt, name)
            let e = runWithTerminal(try s.argv(rt, ["exec", "-t", name, "sh", "-c", "tty; echo done"]))
            #expect(e.status == 0 && e.stdout.contains("/dev/pts/0\n") && e.stdout.contains("done"), "\(e)")
            let r = runWithTerminal(try s.argv(rt, ["run", "--rm", "-t", "--name", runName] + Self.hostNet
                                                  + [DropIn.imageName, "sh", "-c", "tty; echo done"]))
            #expect(r.status == 0 && r.stdout.contains("/dev/pts/0\n") && r.stdout.contains("done"), "\(r)")
        }

        @Test("podman stop -t 2 (SIGTERM ignored by pid 1, then SIGKILL), podman rm", arguments: OCIRuntime.selected)
        func stopAndRemove(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-stop"
            defer { s.remove(rt, name) }
            try startDetached(s, rt, name)
            let id = s.inspect(name, "{{.Id}}")
            let started = Date()
            let stop = s.podman(rt, ["stop", "-t", "2", name])
            let took = Date().timeIntervalSince(started)
            #expect(stop.status == 0, "\(stop)")
            #expect(took < 20, "podman stop -t 2 took \(took) s")
            #expect(s.inspect(name, "{{.State.Status}} {{.State.ExitCode}}") == "exited 137")
            let rm = s.podman(rt, ["rm", name])
            #expect(rm.status == 0, "\(rm)")
            let all = s.podman(nil, ["ps", "-a", "--format", "{{.Names}}"])
            #expect(!all.stdout.split(separator: "\n").contains(Substring(name)), "\(all)")
            let list = run([try s.binary(rt), "--root", s.runtimeDefaultRoot(rt), "list", "-q"])
            #expect(!list.stdout.split(separator: "\n").contains(Substring(id)), "the runtime still lists it: \(list)")
        }

        @Test("podman stop delivers SIGTERM: the container exits by its trap", arguments: OCIRuntime.selected)
        func stopByTrap(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-trap"
            defer { s.remove(rt, name) }
            try startDetached(s, rt, name, ["sh", "-c", "trap 'exit 42' TERM; touch /tmp/ready; while :; do sleep 0.1; done"])
            let ready = eventually(timeout: 10) { s.podman(rt, ["exec", name, "test", "-f", "/tmp/ready"]).status == 0 }
            try #require(ready, "the trap was never installed")
            let stop = s.podman(rt, ["stop", "-t", "30", name])
            #expect(stop.status == 0, "\(stop)")
            #expect(s.inspect(name, "{{.State.Status}} {{.State.ExitCode}}") == "exited 42")
        }

        @Test("podman pause / unpause", arguments: OCIRuntime.selected)
        func pauseUnpause(_ rt: OCIRuntime) throws {
            let s = try store()
            let name = "\(rt.rawValue)-pause"
            defer { s.remove(rt, name) }
            try startDetached(s, rt, name)
            let p = s.podman(rt, ["pause", name])
            #expect(p.status == 0, "\(p)")
            #expect(s.inspect(name, "{{.State.Status}}") == "paused")
            let u = s.podman(rt, ["unpause", name])
            #expect(u.status == 0, "\(u)")
            #expect(s.inspect(name, "{{.State.Status}}") == "running")
            let hi = s.podman(rt, ["exec", name, "echo", "thawed"])
            #expect(hi.status == 0 && hi.stdout == "thawed\n", "\(hi)")
        }

        @Test("podman info reports the runtime's --version", arguments: OCIRuntime.selected)
        func info(_ rt: OCIRuntime) throws {
            let s = try store()
            let r = s.podman(rt, ["info", "--format", "{{.Host.OCIRuntime.Path}}|{{.Host.OCIRuntime.Version}}"])
            #expect(r.status == 0, "\(r)")
            let binary = try s.binary(rt)
            #expect(r.stdout.hasPrefix(binary + "|") && r.stdout.contains("version"), "\(r)")
        }
    }
}
