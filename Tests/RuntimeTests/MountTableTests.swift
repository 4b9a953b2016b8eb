// A container start must cost the same with 5 or 500 containers running. Each
// running container adds mounts to the host (berthd's rootfs overlay and the
// pinned network namespace), so no runtime command may read the whole mount
// table (the kernel formats every line of /proc/self/mountinfo, ~10 µs each
// for an overlay) or copy the host's mount namespace for itself (unshare
// copies every mount, and dropping the copy unmounts them all). Only the
// container's own namespace is a copy, made by the clone.
//
// Checked on the system calls of the runtime process itself (strace without
// -f, so the container's init is not traced), never on times:
//
//   BERTH_RUNTIME=$PWD/.build/debug/berth-runtime swift test --skip-build --filter MountTableTests

import Foundation
import Glibc
import Testing

@Suite("MountTable")
struct MountTableTests {
    static let strace = "/usr/bin/strace"

    /// The lines strace writes for `args`, which must succeed.
    private func traced(_ sb: Sandbox, _ name: String, _ args: [String]) throws -> [String] {
        let log = sb.tmp + "/strace-\(name)"
        let r = runCommand([Self.strace, "-o", log, "-e", "trace=%file,unshare",
                            TestEnv.runtimePath, "--root", sb.root] + args)
        try #require(r.status == 0, "\(r)")
        return (readFile(log) ?? "").split(separator: "\n").map { "\(name): \($0)" }
    }

    @Test func lifecycleCommandsNeitherReadNorCopyTheMountTable() throws {
        // runc reads mountinfo for its cgroups and clones its binary: nothing to compare.
        if TestEnv.isRunc { return }
        guard access(Self.strace, X_OK) == 0 else { throw TestFailure("\(Self.strace) is missing: make deps installs it") }
        let sb = try Sandbox("mount-table", patch: ["process": ["args": ["sleep", "30"]]])
        defer { sb.cleanup() }
        let id = sb.newID("mtab")
        let pidFile = sb.tmp + "/init.pid"

        var lines = try traced(sb, "create", ["create", "--bundle", sb.bundle, "--pid-file", pidFile, id])
        lines += try traced(sb, "start", ["start", id])
        lines += try traced(sb, "state", ["state", id])
        lines += try traced(sb, "exec", ["exec", id, "true"])

        // The init is in the container's cgroup in every hierarchy, the hybrid
        // unified one included: the layout found without the mount table is whole.
        let pid = Int32((readFile(pidFile) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try #require(pid > 0, "pid file: \(readFile(pidFile) ?? "missing")")
        let cgroups = (readFile("/proc/\(pid)/cgroup") ?? "").split(separator: "\n")
        #expect(!cgroups.isEmpty)
        for line in cgroups {
            #expect(line.hasSuffix(":/" + id), "the init is not in its cgroup in this hierarchy: \(line)")
        }

        lines += try traced(sb, "kill", ["kill", id, "KILL"])
        #expect(sb.waitForStatus(id, "stopped"))
        lines += try traced(sb, "delete", ["delete", id])
        Leftovers.check(root: sb.root, id: id)

        let tableReads = lines.filter { $0.contains("mountinfo") || $0.contains("/proc/mounts") || $0.contains("/proc/self/mounts") }
        #expect(tableReads.isEmpty, "the runtime read the whole mount table:\n\(tableReads.joined(separator: "\n"))")
        let copies = lines.filter { $0.contains(": unshare(") && $0.contains("CLONE_NEWNS") }
        #expect(copies.isEmpty, "the runtime copied the mount namespace for itself:\n\(copies.joined(separator: "\n"))")
    }

    /// The visible mount counts, as in the mount table: a tmpfs over the hybrid
    /// `unified` mount (bench/runtime.sh does this for crun) hides it, so the
    /// container is placed in the v1 hierarchies only.
    @Test func coveredUnifiedMountIsNotUsed() throws {
        if TestEnv.isRunc { return }
        guard isCgroup2("/sys/fs/cgroup/unified"), !isCgroup2("/sys/fs/cgroup") else { return }  // hybrid hosts only
        let sb = try Sandbox("covered-unified", patch: ["process": ["args": ["sleep", "30"]]])
        defer { sb.cleanup() }
        let id = sb.newID("unified")
        let rtCmd = "'\(TestEnv.runtimePath)' --root '\(sb.root)'"
        let script = """
            set -e
            mount -t tmpfs tmpfs /sys/fs/cgroup/unified
            \(rtCmd) create --bundle '\(sb.bundle)' --pid-file '\(sb.tmp)/init.pid' \(id)
            cat /proc/$(cat '\(sb.tmp)/init.pid')/cgroup
            \(rtCmd) delete --force \(id)
            """
        let r = runCommand(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script])
        try #require(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n")
        let v1 = lines.filter { !$0.hasPrefix("0::") }
        #expect(!v1.isEmpty && v1.allSatisfy { $0.hasSuffix(":/" + id) }, "v1 placement: \(r.stdout)")
        #expect(lines.contains { $0.hasPrefix("0::") && !$0.hasSuffix("/" + id) }, "placed in the hidden unified hierarchy: \(r.stdout)")
        Leftovers.check(root: sb.root, id: id)
    }

    private func isCgroup2(_ path: String) -> Bool {
        runCommand(["/usr/bin/stat", "-f", "-c", "%T", path]).stdout.hasPrefix("cgroup2")
    }
}
