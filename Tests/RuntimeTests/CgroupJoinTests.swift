// How a new process reaches its cgroup on a v1 (hybrid) host. A write of a pid
// to `cgroup.procs` takes the kernel's global threadgroup lock for writing,
// which waits for an RCU grace period: 8–16 ms on this machine, the largest
// single cost of a create. The init (single-threaded until it execs) instead
// writes "0" to each hierarchy's `tasks` file itself, which moves only the
// calling thread and skips that lock, and the clone places it in the hybrid
// unified (cgroup2) directory with CLONE_INTO_CGROUP. From inside a user
// namespace the runtime still writes `cgroup.procs` for it. A nested cpuset
// cgroup gets its cpus and mems from the kernel (the parent's
// `cgroup.clone_children`), not from writes that walk every sibling.
//
// Checked on the system calls (strace -f), never on times:
//
//   BERTH_RUNTIME=$PWD/.build/debug/berth-runtime swift test --skip-build --filter CgroupJoinTests

import Foundation
import Glibc
import Testing

@Suite("CgroupJoin")
struct CgroupJoinTests {
    static let strace = "/usr/bin/strace"

    /// v1 controllers mounted at /sys/fs/cgroup (a tmpfs of hierarchies), as here.
    private var isCgroupV1Host: Bool {
        !runCommand(["/usr/bin/stat", "-f", "-c", "%T", "/sys/fs/cgroup"]).stdout.hasPrefix("cgroup2")
            && isDirectory("/sys/fs/cgroup/memory")
    }

    @Test func theInitJoinsItsV1HierarchiesByItselfAndIsClonedIntoTheUnifiedOne() throws {
        if TestEnv.isRunc { return }  // runc writes cgroup.procs: nothing to compare
        guard isCgroupV1Host else { return }
        guard access(Self.strace, X_OK) == 0 else { throw TestFailure("\(Self.strace) is missing: make deps installs it") }
        let sb = try Sandbox("cgroup-join", patch: ["process": ["args": ["sleep", "30"]]])
        defer { sb.cleanup() }
        let id = sb.newID("join")
        let log = sb.tmp + "/strace-create"
        let pidFile = sb.tmp + "/init.pid"
        // strace -f follows the init, which waits on the exec fifo: run it in the
        // background and let the container go once create has written its pid file.
        let traced = try Spawned([Self.strace, "-f", "-o", log, "-e", "trace=openat,write,clone3",
                                  TestEnv.runtimePath, "--root", sb.root, "create", "--bundle", sb.bundle, "--pid-file", pidFile, id])
        let deadline = Date().addingTimeInterval(30)
        while !fileExists(pidFile), Date() < deadline { usleep(20_000) }
        guard fileExists(pidFile), sb.waitForStatus(id, "created") else {
            kill(traced.pid, SIGKILL)
            Issue.record("create under strace did not finish: \(traced.wait(timeout: 10)); trace: \(readFile(log) ?? "none")")
            return
        }
        let pid = Int32((readFile(pidFile) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try #require(pid > 0)
        let cgroups = (readFile("/proc/\(pid)/cgroup") ?? "").split(separator: "\n")
        #expect(cgroups.count > 1)
        for line in cgroups {
            #expect(line.hasSuffix(":/" + id), "the init is not in its cgroup in this hierarchy: \(line)")
        }
        // An exec'd process joins the same way.
        let execLog = sb.tmp + "/strace-exec"
        let ex = runCommand([Self.strace, "-f", "-o", execLog, "-e", "trace=openat,write,clone3",
                             TestEnv.runtimePath, "--root", sb.root, "exec", id, "true"])
        #expect(ex.status == 0, "\(ex)")
        runCommand([TestEnv.runtimePath, "--root", sb.root, "delete", "--force", id])
        _ = traced.wait(timeout: 30)
        Leftovers.check(root: sb.root, id: id)

        let execTrace = (readFile(execLog) ?? "").split(separator: "\n").map(String.init)
        #expect(!execTrace.contains { $0.contains("/cgroup.procs\"") && $0.contains("O_WRONLY") }, "exec wrote cgroup.procs")
        #expect(execTrace.filter { $0.contains("/" + id + "/tasks\"") && $0.contains("O_WRONLY") }.count == cgroups.count - 1)

        let trace = (readFile(log) ?? "").split(separator: "\n").map(String.init)
        let procsWrites = trace.filter { $0.contains("/cgroup.procs\"") && $0.contains("O_WRONLY") }
        #expect(procsWrites.isEmpty, "cgroup.procs was written:\n\(procsWrites.joined(separator: "\n"))")
        let tasksOpens = trace.filter { $0.contains("/" + id + "/tasks\"") && $0.contains("O_WRONLY") }
        #expect(tasksOpens.count == cgroups.count - 1, "one tasks file per v1 hierarchy:\n\(tasksOpens.joined(separator: "\n"))")
        #expect(tasksOpens.allSatisfy { $0.hasPrefix("\(pid) ") }, "tasks written by another process than the init:\n\(tasksOpens.joined(separator: "\n"))")
        if cgroups.contains(where: { $0.hasPrefix("0::") }) {
            #expect(trace.contains { $0.contains("clone3(") && $0.contains("CLONE_INTO_CGROUP") }, "no clone3 into the unified cgroup")
        }
    }

    /// Inside a user namespace the init may not write the host's cgroup files:
    /// the runtime places it, in every hierarchy.
    @Test func aUserNamespaceInitIsPlacedByTheRuntime() throws {
        if TestEnv.isRunc { return }
        guard isCgroupV1Host else { return }
        let sb = try Sandbox("cgroup-join-userns", patch: [
            "process": ["args": ["sleep", "30"]],
            "linux": [
                "namespaces": [["type": "pid"], ["type": "network"], ["type": "ipc"], ["type": "uts"], ["type": "mount"], ["type": "user"]],
                "uidMappings": [["containerID": 0, "hostID": 100000, "size": 65536]],
                "gidMappings": [["containerID": 0, "hostID": 100000, "size": 65536]],
            ],
        ])
        defer { sb.cleanup() }
        let id = sb.newID("userns")
        let pidFile = sb.tmp + "/init.pid"
        let r = runCommand([TestEnv.runtimePath, "--root", sb.root, "create", "--bundle", sb.bundle, "--pid-file", pidFile, id])
        try #require(r.status == 0, "\(r)")
        let pid = Int32((readFile(pidFile) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let cgroups = (readFile("/proc/\(pid)/cgroup") ?? "").split(separator: "\n")
        #expect(cgroups.count > 1)
        for line in cgroups {
            #expect(line.hasSuffix(":/" + id), "the init is not in its cgroup in this hierarchy: \(line)")
        }
        runCommand([TestEnv.runtimePath, "--root", sb.root, "delete", "--force", id])
        Leftovers.check(root: sb.root, id: id)
    }
    /// cpuset on v1: a new cgroup's cpus and mems must be filled before a task
    /// can join. Writing them costs in proportion to the siblings, so the runtime
    /// marks the parent `cgroup.clone_children` and the kernel copies them at mkdir.
    @Test func aNestedCpusetIsFilledByTheKernelNotWritten() throws {
        if TestEnv.isRunc { return }
        guard isCgroupV1Host, isDirectory("/sys/fs/cgroup/cpuset") else { return }
        guard access(Self.strace, X_OK) == 0 else { throw TestFailure("\(Self.strace) is missing: make deps installs it") }
        let parent = "berth-cpuset-test-\(getpid())"
        let sb = try Sandbox("cgroup-cpuset", patch: ["process": ["args": ["sleep", "30"]], "linux": ["cgroupsPath": "/\(parent)/leaf"]])
        defer {
            sb.cleanup()
            for h in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] { rmdir("/sys/fs/cgroup/\(h)/\(parent)") }
        }
        let id = sb.newID("cpuset")
        let log = sb.tmp + "/strace-create"
        let pidFile = sb.tmp + "/init.pid"
        let r = runCommand([Self.strace, "-o", log, "-e", "trace=openat",
                            TestEnv.runtimePath, "--root", sb.root, "create", "--bundle", sb.bundle, "--pid-file", pidFile, id])
        try #require(r.status == 0, "\(r)")
        let cpuset = "/sys/fs/cgroup/cpuset/\(parent)"
        #expect(readFile(cpuset + "/cgroup.clone_children")?.hasPrefix("1") == true)
        #expect(readFile(cpuset + "/leaf/cpuset.cpus") == readFile(cpuset + "/cpuset.cpus"))
        #expect(readFile(cpuset + "/leaf/cpuset.mems") == readFile(cpuset + "/cpuset.mems"))
        let pid = (readFile(pidFile) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((readFile(cpuset + "/leaf/tasks") ?? "").split(separator: "\n").contains(Substring(pid)))
        let writes = (readFile(log) ?? "").split(separator: "\n").filter { $0.contains("/leaf/cpuset.") && $0.contains("O_WRONLY") }
        #expect(writes.isEmpty, "the leaf's cpuset was written:\n\(writes.joined(separator: "\n"))")
        runCommand([TestEnv.runtimePath, "--root", sb.root, "delete", "--force", id])
    }
}
