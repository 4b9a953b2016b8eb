// Security behaviour of the runtime, each checked by attempting what an
// attacker inside (or beside) a container would do: seccomp filters and the
// notify agent handshake, and the known runtime escapes (CVE-2019-5736,
// CVE-2024-21626, CVE-2021-30465), masked and read-only paths under attack.

import Foundation
import Glibc
import Testing

/// A seccomp agent for the test: accepts one connection on listenerPath and
/// returns the container process state (JSON) and the listener fd it carried.
final class SeccompAgent {
    let listener: ConsoleSocketListener
    init(path: String) throws { listener = try ConsoleSocketListener(path: path) }

    func receive(timeout: Double = 30) throws -> (state: [String: Any], fd: Int32) {
        let (payload, fd) = try listener.receiveFDAndPayload(timeout: timeout)
        guard let state = parseJSON(payload) as? [String: Any] else {
            throw TestFailure("seccomp agent: payload is not a JSON object: \(payload)")
        }
        return (state, fd)
    }
}

@Suite("Security", .serialized)
struct SecurityTests {
    // MARK: seccomp

    @Test func deniedSyscallReturnsConfiguredErrno() throws {
        let sb = try Sandbox("seccomp-errno", patch: [
            "root": ["readonly": false],
            "process": ["args": ["sh", "-c", "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touch-ok"]],
            "linux": ["seccomp": ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                  "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13],
                                               ["names": ["no_such_syscall_at_all"], "action": "SCMP_ACT_ERRNO"]]]],
        ])
        defer { sb.cleanup() }
        let r = sb.run(["run", "--bundle", sb.bundle, sb.newID("errno")])
        #expect(r.status == 0, "\(r)")
        // errnoRet 13 is EACCES: the filtered syscall fails with exactly that errno,
        // an unfiltered one still works, and an unknown syscall name is skipped.
        #expect(r.stderr.contains("Permission denied"), "\(r)")
        #expect(r.stdout.contains("rc=1"), "\(r)")
        #expect(r.stdout.contains("touch-ok"), "\(r)")
    }

    /// berth-runtime keeps the BPF libseccomp compiled under `<root>/seccomp cache`
    /// (SeccompCache.swift): the second create with the same profile loads it
    /// directly, and an entry that is damaged is never used, only replaced.
    @Test func compiledFilterIsCachedAndCheckedOnUse() throws {
        if TestEnv.isRunc { return }
        let sb = try Sandbox("seccomp-cache", patch: [
            "root": ["readonly": false],
            "process": ["args": ["sh", "-c", "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touch-ok"]],
            "linux": ["seccomp": ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                  "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13]]]],
        ])
        defer { sb.cleanup() }
        let cache = sb.root + "/seccomp cache"
        let logPath = sb.root + "/../runtime.log"
        /// Runs the container; the filter must deny mkdir with EACCES and allow the rest.
        func runChecked(_ hint: String) -> String {
            try? FileManager.default.removeItem(atPath: logPath)
            let r = sb.run(["--debug", "--log", logPath, "run", "--bundle", sb.bundle, sb.newID(hint)])
            #expect(r.status == 0, "\(r)")
            #expect(r.stderr.contains("Permission denied"), "\(r)")
            #expect(r.stdout.contains("rc=1"), "\(r)")
            #expect(r.stdout.contains("touch-ok"), "\(r)")
            return (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        func entryPath() throws -> String {
            let names = try FileManager.default.contentsOfDirectory(atPath: cache)
            #expect(names.count == 1, "\(names)")
            return cache + "/" + (names.first ?? "")
        }

        #expect(!runChecked("first").contains("compiled filter from"))
        let path = try entryPath()
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(original.count > 48 && (original.count - 48) > 0)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)

        // Second run: loaded from the entry, which stays as it was.
        #expect(runChecked("second").contains("compiled filter from"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)

        // Damaged entries: the top byte of the last instruction's return value
        // flipped (a different action if it were loaded), a byte of the stored
        // input flipped, the entry truncated (at the end of the input, and
        // half-way into the header). Each is ignored and replaced by the
        // intact entry, and the container behaves as configured.
        var flippedProgram = original
        flippedProgram[flippedProgram.count - 1] ^= 0xff
        var flippedInput = original
        flippedInput[60] ^= 0x01
        let damaged: [(String, Data)] = [
            ("program", flippedProgram), ("input", flippedInput),
            ("truncated", original.prefix(original.count - 8 * 5)), ("header", original.prefix(20)), ("empty", Data()),
        ]
        for (what, bytes) in damaged {
            try bytes.write(to: URL(fileURLWithPath: path))
            let log = runChecked("damaged-" + what)
            #expect(!log.contains("compiled filter from"), "\(what): \(log)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original, "\(what): entry not rewritten")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).count == 1)
        // The cache is no container: `list` does not show it.
        #expect(sb.run(["list", "-q"]).stdout == "")
    }

    @Test func defaultErrnoAndArgumentFilter() throws {
        // personality(0xffffffff) only queries; the rule denies any other argument.
        let sb = try Sandbox("seccomp-args", patch: [
            "process": ["args": ["sh", "-c", "uname -m; linux32 uname -m; echo rc=$?"]],
            "linux": ["seccomp": ["defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1,
                                  "syscalls": [["names": ["personality"], "action": "SCMP_ACT_ERRNO",
                                                "args": [["index": 0, "value": 8, "op": "SCMP_CMP_EQ"]]]]]],
        ])
        defer { sb.cleanup() }
        let r = sb.run(["run", "--bundle", sb.bundle, sb.newID("args")])
        #expect(r.stdout.hasPrefix("x86_64\n"), "\(r)")
        #expect(!r.stdout.contains("i686"), "personality(PER_LINUX32) must be denied: \(r)")
    }

    /// With eight rules or more the runtime has libseccomp build a binary tree
    /// of syscall numbers (Seccomp.swift); the verdicts must be the same as the
    /// linear filter's: errno rules, an argument rule, and allowed syscalls.
    @Test func largeProfileAsBinaryTree() throws {
        let fillers = ["acct", "add_key", "bpf", "kexec_load", "lookup_dcookie", "open_by_handle_at", "quotactl", "vhangup",
                       "swapon", "swapoff"]
        let sb = try Sandbox("seccomp-tree", patch: [
            "root": ["readonly": false],
            "process": ["args": ["sh", "-c", "mkdir /tmp/x; echo rc=$?; linux32 uname -m; echo p=$?; uname -m; touch /tmp/y && echo touch-ok"]],
            "linux": ["seccomp": ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                  "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13],
                                               ["names": ["personality"], "action": "SCMP_ACT_ERRNO",
                                                "args": [["index": 0, "value": 8, "op": "SCMP_CMP_EQ"]]],
                                               ["names": fillers, "action": "SCMP_ACT_ERRNO"]]]],
        ])
        defer { sb.cleanup() }
        let r = sb.run(["run", "--bundle", sb.bundle, sb.newID("tree")])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("Permission denied"), "\(r)")
        #expect(r.stdout.contains("rc=1\n"), "\(r)")
        #expect(!r.stdout.contains("i686"), "personality(PER_LINUX32) must be denied: \(r)")
        #expect(r.stdout.contains("p=1\nx86_64\n"), "\(r)")
        #expect(r.stdout.contains("touch-ok"), "\(r)")
    }

    @Test func notifyHandsListenerToAgent() throws {
        if TestEnv.isRunc { return }
        let sb = try Sandbox("seccomp-notify", patch: [:])
        defer { sb.cleanup() }
        let socketPath = sb.tmp + "/agent.sock"
        let agent = try SeccompAgent(path: socketPath)
        try sb.writeConfig(patch: [
            "root": ["readonly": false],
            "process": ["args": ["sh", "-c", "mkdir /tmp/notified 2>/result; echo rc=$? >> /result"]],
            "linux": ["seccomp": ["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socketPath,
                                  "listenerMetadata": "berth-test-metadata",
                                  "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"]]]],
        ])
        let id = sb.newID("notify")
        // create returns once the agent has the listener: run it in the background.
        let create = try Spawned([TestEnv.runtimePath, "--root", sb.root, "create", "--bundle", sb.bundle, id])
        let (state, fd) = try agent.receive()
        #expect(state["fds"] as? [String] == ["seccompFd"])
        #expect(state["metadata"] as? String == "berth-test-metadata")
        #expect((state["state"] as? [String: Any])?["id"] as? String == id)
        #expect(jsonNumber(state["pid"]) ?? 0 > 0)
        // The agent gives up: with the listener closed, notified syscalls fail with ENOSYS.
        close(fd)
        let c = create.wait()
        #expect(c.status == 0, "\(c)")
        #expect(sb.run(["start", id]).status == 0)
        #expect(sb.waitForStatus(id, "stopped"))
        let output = readFile(sb.bundle + "/rootfs/result") ?? ""
        #expect(output.contains("rc=1"), "\(output)")
        #expect(output.contains("Function not implemented"), "\(output)")
    }

    @Test func notifyWithoutListenerPathIsRefused() throws {
        if TestEnv.isRunc { return }
        let sb = try Sandbox("seccomp-nolistener", patch: [
            "linux": ["seccomp": ["defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [["names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"]]]],
        ])
        defer { sb.cleanup() }
        let id = sb.newID("nolistener")
        let r = sb.run(["create", "--bundle", sb.bundle, id])
        #expect(r.status != 0)
        #expect(r.stderr.contains("listenerPath"), "\(r)")
        #expect(!fileExists(sb.root + "/" + id))
    }

    // MARK: runtime escapes

    /// CVE-2019-5736: a process holding /proc/<pid>/exe of the runtime (here the
    /// container's init before its execve) must not be able to write the
    /// runtime binary, also after the runtime has exited.
    @Test func runtimeBinaryCannotBeOverwrittenThroughProcExe() throws {
        if TestEnv.isRunc { return }
        let sb = try Sandbox("exe-seal", patch: ["process": ["args": ["sleep", "30"]]])
        defer { sb.cleanup() }
        // A private copy: if the protection failed, the test must not damage the real binary.
        let copy = sb.tmp + "/berth-runtime-copy"
        #expect(runCommand(["/bin/cp", TestEnv.runtimePath, copy]).status == 0)
        let before = runCommand(["/usr/bin/sha256sum", copy]).stdout
        let id = sb.newID("seal")
        let pidFile = sb.tmp + "/init.pid"
        let c = runCommand([copy, "--root", sb.root, "create", "--bundle", sb.bundle, "--pid-file", pidFile, id])
        try #require(c.status == 0, "\(c)")
        let pid = Int32(readFile(pidFile) ?? "") ?? 0
        let held = open("/proc/\(pid)/exe", 0o10000000 /* O_PATH */ | O_CLOEXEC)
        try #require(held >= 0, "open /proc/\(pid)/exe: errno \(errno)")
        defer { close(held) }
        #expect(runCommand([copy, "--root", sb.root, "start", id]).status == 0)
        // Once the init has exec'd `sleep`, the binary is no longer busy: only the mount protects it.
        var execd = false
        for _ in 0..<200 where !execd {
            execd = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
            if !execd { usleep(10_000) }
        }
        #expect(execd)
        let w = open("/proc/self/fd/\(held)", O_WRONLY | O_CLOEXEC)
        let err = errno
        if w >= 0 { close(w) }
        #expect(w < 0, "the runtime binary was opened for writing through /proc/<pid>/exe")
        #expect(err == EROFS, "expected EROFS, got errno \(err)")
        #expect(runCommand([copy, "--root", sb.root, "delete", "--force", id]).status == 0)
        #expect(runCommand(["/usr/bin/sha256sum", copy]).stdout == before)
    }

    /// CVE-2024-21626: no host fd or host directory is reachable from the
    /// container, neither as an inherited fd nor through process.cwd.
    @Test func noHostDescriptorOrDirectoryLeaks() throws {
        let sb = try Sandbox("fd-leak", patch: [
            "process": ["args": ["sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; echo; readlink /proc/self/cwd"]],
        ])
        defer { sb.cleanup() }
        let marker = sb.tmp + "/HOST-MARKER-\(getpid())"
        try writeFile(marker, "host")
        let r = sb.run(["run", "--bundle", sb.bundle, sb.newID("fds")])
        #expect(r.status == 0, "\(r)")
        // 0 1 2 plus the fd `ls` opened for the directory itself.
        #expect(r.stdout.hasPrefix("0 1 2 3 \n"), "\(r)")
        #expect(r.stdout.contains("\n/\n"), "cwd must be the container's /: \(r)")
        for n in 3...9 {
            try sb.writeConfig(patch: ["process": ["cwd": "/proc/self/fd/\(n)", "args": ["sh", "-c", "ls -a; ls .. 2>&1"]]])
            let x = sb.run(["run", "--bundle", sb.bundle, sb.newID("cwd\(n)")])
            #expect(!x.stdout.contains("HOST-MARKER"), "process.cwd /proc/self/fd/\(n) reached the host: \(x)")
        }
    }

    /// CVE-2021-30465 class: a symlink in the rootfs cannot send a mount outside it.
    @Test func symlinkCannotRedirectMountOutOfRootfs() throws {
        let sb = try Sandbox("symlink-mount", patch: [:])
        defer { sb.cleanup() }
        let hostTarget = sb.tmp + "/host-target"
        mkdir(hostTarget, 0o755)
        #expect(symlink(hostTarget, sb.bundle + "/rootfs/evil") == 0)
        #expect(symlink("../../../../../../../../" + hostTarget, sb.bundle + "/rootfs/evil2") == 0)
        try sb.writeConfig(patch: ["root": ["readonly": false]])
        // Append two mounts to the base config's list.
        guard var cfg = parseJSON(readFile(sb.bundle + "/config.json") ?? "") as? [String: Any],
              var mounts = cfg["mounts"] as? [[String: Any]] else { throw TestFailure("bad base config") }
        mounts.append(["destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"])
        mounts.append(["destination": "/evil2/sub2", "type": "tmpfs", "source": "tmpfs"])
        cfg["mounts"] = mounts
        cfg["process"] = ["user": ["uid": 0, "gid": 0], "cwd": "/", "args": ["true"],
                          "env": ["PATH=/bin:/usr/bin"]]
        try writeFile(sb.bundle + "/config.json", try jsonString(cfg))
        let r = sb.run(["run", "--bundle", sb.bundle, sb.newID("evil")])
        #expect(r.status == 0, "\(r)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: hostTarget)) ?? ["?"]
        #expect(left.isEmpty, "a mount or directory escaped to the host: \(left)")
        #expect(mountsUnder(hostTarget).isEmpty)
    }

    /// Masked and read-only paths hold when the container tries to undo them.
    @Test func maskedAndReadonlyPathsResistRemount() throws {
        let sb = try Sandbox("masked-remount", patch: [
            "linux": ["maskedPaths": ["/proc/kcore", "/proc/scsi"], "readonlyPaths": ["/proc/sys"]],
            "process": ["args": ["sh", "-c", """
                umount /proc/kcore 2>/dev/null && echo UNMASKED-KCORE
                umount /proc/scsi 2>/dev/null && echo UNMASKED-SCSI
                mount -o remount,rw /proc/sys 2>/dev/null && echo REMOUNTED-SYS
                echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo WROTE-SYSCTL
                head -c 1 /proc/kcore | wc -c
                """]],
        ])
        defer { sb.cleanup() }
        let r = sb.run(["run", "--bundle", sb.bundle, sb.newID("masked")])
        for bad in ["UNMASKED-KCORE", "UNMASKED-SCSI", "REMOUNTED-SYS", "WROTE-SYSCTL"] {
            #expect(!r.stdout.contains(bad), "\(bad): \(r)")
        }
        #expect(r.stdout.hasSuffix("0\n"), "/proc/kcore must read as empty: \(r)")
    }

    // MARK: security modules

    @Test func securityModulesAbsentFromHostAreRefused() throws {
        if TestEnv.isRunc { return }
        let appArmorOn = (readFile("/sys/module/apparmor/parameters/enabled") ?? "").hasPrefix("Y")
        let selinuxOn = fileExists("/sys/fs/selinux/enforce")
        let sb = try Sandbox("lsm", patch: [:])
        defer { sb.cleanup() }
        if !appArmorOn {
            try sb.writeConfig(patch: ["process": ["apparmorProfile": "berth-test-profile"]])
            let id = sb.newID("aa")
            let r = sb.run(["create", "--bundle", sb.bundle, id])
            #expect(r.status != 0 && r.stderr.contains("AppArmor is not enabled"), "\(r)")
            #expect(!fileExists(sb.root + "/" + id))
        }
        if !selinuxOn {
            try sb.writeConfig(patch: ["process": ["selinuxLabel": "system_u:system_r:container_t:s0"]])
            let id = sb.newID("se")
            let r = sb.run(["create", "--bundle", sb.bundle, id])
            #expect(r.status != 0 && r.stderr.contains("SELinux is not enabled"), "\(r)")
            #expect(!fileExists(sb.root + "/" + id))
            try sb.writeConfig(patch: ["linux": ["mountLabel": "system_u:object_r:container_file_t:s0"]])
            let idm = sb.newID("sem")
            expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, idm]),
                               containing: "config.json: linux.mountLabel \"system_u:object_r:container_file_t:s0\" is set, but SELinux is not enabled")
            #expect(!fileExists(sb.root + "/" + idm))
        }

        // exec: a profile or label for the new process is refused the same way,
        // before anything runs in the container.
        try sb.writeConfig(patch: ["process": ["args": ["sleep", "1000"]]])
        let id = sb.newID("lsmexec")
        #expect(sb.run(["run", "-d", "--bundle", sb.bundle, id]).status == 0)
        if !appArmorOn {
            expectOneErrorLine(sb.run(["exec", "--apparmor", "berth-test-profile", id, "true"]),
                               containing: "exec: process.apparmorProfile \"berth-test-profile\" is set, but AppArmor is not enabled on this host")
            let process = sb.tmp + "/process-aa.json"
            try writeFile(process, #"{"user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "/", "apparmorProfile": "berth-test-profile"}"#)
            expectOneErrorLine(sb.run(["exec", "--process", process, id]), containing: "AppArmor is not enabled on this host")
        }
        if !selinuxOn {
            expectOneErrorLine(sb.run(["exec", "--process-label", "system_u:system_r:container_t:s0", id, "true"]),
                               containing: "exec: process.selinuxLabel \"system_u:system_r:container_t:s0\" is set, but SELinux is not enabled on this host")
        }
        #expect(sb.status(id) == "running")
        #expect(sb.run(["delete", "--force", id]).status == 0)
    }

    // MARK: rootless

    /// A non-root caller: `spec --rootless` maps the caller's own uid, the
    /// container gets its own user namespace, and no cgroup is needed.
    @Test func rootlessCallerRunsInOwnUserNamespace() throws {
        if TestEnv.isRunc { return }
        try TestEnv.requireRuntime()
        let dir = try makeScratchDir("rootless")
        defer { _ = removeTree(dir) }
        chmod(dir, 0o755)
        let bundle = dir + "/bundle"
        mkdir(bundle, 0o755)
        try Rootfs.copy(to: bundle + "/rootfs")
        let binary = dir + "/berth-runtime"
        #expect(runCommand(["/bin/cp", TestEnv.runtimePath, binary]).status == 0)
        #expect(runCommand(["/bin/chown", "-R", "65534:65534", dir]).status == 0)
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env", "-i",
                        "PATH=/usr/bin:/bin", "HOME=" + dir]
        let spec = runCommand(asNobody + [binary, "spec", "--rootless", "--bundle", bundle])
        try #require(spec.status == 0, "\(spec)")
        guard var cfg = parseJSON(readFile(bundle + "/config.json") ?? "") as? [String: Any],
              var process = cfg["process"] as? [String: Any] else { throw TestFailure("spec --rootless wrote no config") }
        process["terminal"] = false
        process["args"] = ["sh", "-c", "id -u; cat /proc/self/uid_map"]
        cfg["process"] = process
        try writeFile(bundle + "/config.json", try jsonString(cfg))
        _ = runCommand(["/bin/chown", "65534:65534", bundle + "/config.json"])
        let r = runCommand(asNobody + [binary, "--root", dir + "/state", "run", "--bundle", bundle, uniqueID("rootless")])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines.first == "0", "root inside: \(r)")
        #expect(lines.dropFirst().first == "0 65534 1", "mapped to the caller's uid: \(r)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/state")) ?? []
        #expect(left.isEmpty, "state left behind: \(left)")
    }
}
