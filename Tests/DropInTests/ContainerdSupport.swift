// A private containerd for the drop-in tests: its own config, root, state and socket in a
// scratch directory, the CRI plugin disabled, the busybox image imported in namespace
// "berthtest". Containers run through the stock runc v2 shim with
// `ctr run --runtime io.containerd.runc.v2 --runc-binary <runtime> --runc-root <dir>`.

import Foundation
import Glibc
import Testing

final class ContainerdDaemon: @unchecked Sendable {
    @TaskLocal static var current: ContainerdDaemon?

    static let namespace = "berthtest"

    let dir: String
    let socket: String
    private(set) var berthPath = ""
    private var child: Child?
    private let lock = NSLock()
    private var ids: Set<String> = []

    init() throws {
        dir = try DropIn.makeScratch("containerd")
        socket = dir + "/containerd.sock"
        do {
            if OCIRuntime.selected.contains(.berth) { berthPath = try DropIn.copyBerth(into: dir) }
            try start()
        } catch {
            stop()
            throw error
        }
    }

    /// The runtime binary for RT.
    func binary(_ rt: OCIRuntime) throws -> String {
        switch rt {
        case .berth: return berthPath
        case .runc:
            guard let p = DropIn.runcPath else { throw DropInFailure("runc is not installed (tests/dropin/install-deps.sh)") }
            return p
        }
    }

    /// The runc v2 shim's --root for RT: runc-root/<namespace> is where the runtime keeps state.
    func runcRoot(_ rt: OCIRuntime) -> String { dir + "/runc-root-" + rt.rawValue }
    func runtimeStateRoot(_ rt: OCIRuntime) -> String { runcRoot(rt) + "/" + Self.namespace }
    /// The shim's bundle directory of container ID (holds config.json, log.json, options.json).
    func bundle(_ id: String) -> String { dir + "/state/io.containerd.runtime.v2.task/\(Self.namespace)/\(id)" }

    private func start() throws {
        let config = """
        version = 2
        root = "\(dir)/root"
        state = "\(dir)/state"
        disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
                            "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                            "io.containerd.snapshotter.v1.devmapper"]

        [grpc]
          address = "\(socket)"

        [ttrpc]
          address = "\(socket).ttrpc"

        [debug]
          address = ""
          level = "debug"

        [metrics]
          address = ""

        [plugins."io.containerd.internal.v1.opt"]
          path = "\(dir)/opt"

        """
        try config.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        child = try Child(["containerd", "--config", dir + "/config.toml"],
                          stdoutPath: dir + "/containerd.log", stderrPath: dir + "/containerd.log")
        let up = eventually(timeout: 30) {
            if let c = child, waitpid(c.pid, nil, WNOHANG) == c.pid { child = nil; return true }
            return access(socket, F_OK) == 0 && run(["ctr", "-a", socket, "version"], timeout: 10).status == 0
        }
        guard up, child != nil else {
            throw DropInFailure("containerd did not start:\n\(readText(dir + "/containerd.log").suffix(3000))")
        }
        let image = try DropIn.makeImage(in: dir + "/image")
        let r = ctr(["images", "import", image], timeout: 120)
        guard r.status == 0 else { throw DropInFailure("ctr images import failed:\n\(r)") }
    }

    /// `ctr -a <socket> -n berthtest ARGS`.
    func ctr(_ args: [String], timeout: Double = 60) -> Output {
        run(["ctr", "-a", socket, "-n", Self.namespace] + args, timeout: timeout)
    }

    /// The argv of `ctr ... run` with RT as the runc v2 shim's runtime binary.
    func runArgv(_ rt: OCIRuntime, _ flags: [String] = [], id: String, _ command: [String]) throws -> [String] {
        track(id)
        return ["ctr", "-a", socket, "-n", Self.namespace, "run", "--runtime", "io.containerd.runc.v2",
                "--runc-binary", try binary(rt), "--runc-root", runcRoot(rt)] + flags + [DropIn.imageName, id] + command
    }

    func runContainer(_ rt: OCIRuntime, _ flags: [String] = [], id: String, _ command: [String], timeout: Double = 60) throws -> Output {
        run(try runArgv(rt, flags, id: id, command), timeout: timeout)
    }

    func track(_ id: String) {
        lock.lock()
        ids.insert(id)
        lock.unlock()
    }

    /// TASK -> (pid, STATUS) from `ctr task ls`.
    func tasks() -> [String: (pid: String, status: String)] {
        var result: [String: (String, String)] = [:]
        for line in ctr(["task", "ls"], timeout: 30).stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 3 { result[String(f[0])] = (String(f[1]), String(f[2])) }
        }
        return result
    }

    func taskStatus(_ id: String) -> String? { tasks()[id]?.status }

    /// What the runtime logged for container ID (the shim's log.json) and the tail of
    /// containerd's log about it, for failure messages.
    func diagnostics(_ id: String) -> String {
        let log = readText(bundle(id) + "/log.json")
        let daemon = readText(dir + "/containerd.log").split(separator: "\n")
            .filter { $0.contains(id) && ($0.contains("level=error") || $0.contains("level=warning")) }.suffix(15)
        return "--- \(bundle(id))/log.json ---\n\(log.suffix(3000))\n--- containerd.log (errors about \(id)) ---\n\(daemon.joined(separator: "\n"))"
    }

    /// Removes container ID whatever state it is in: task killed and deleted, container
    /// and snapshot removed, what is left in its cgroup killed.
    func remove(_ id: String) {
        if let task = tasks()[id] {
            if task.status == "PAUSED" { _ = ctr(["task", "resume", id], timeout: 20) }
            _ = ctr(["task", "kill", "-s", "SIGKILL", id], timeout: 20)
            eventually(timeout: 10) { taskStatus(id).map { $0 == "STOPPED" } ?? true }
            _ = ctr(["task", "delete", "--force", id], timeout: 30)
        }
        _ = ctr(["container", "rm", id], timeout: 30)
        Cleanup.removeCgroup("\(Self.namespace)/\(id)")
    }

    /// Removes every container, stops containerd and its shims, unmounts and deletes the
    /// scratch directory. Safe to call more than once.
    func stop() {
        if let c = child {
            let listed = ctr(["container", "ls", "-q"], timeout: 30).stdout.split(separator: "\n").map(String.init)
            lock.lock()
            ids.formUnion(listed)
            let all = ids
            lock.unlock()
            for id in all { remove(id) }
            kill(c.pid, SIGTERM)
            let gone = eventually(timeout: 15) { waitpid(c.pid, nil, WNOHANG) == c.pid }
            if !gone {
                Processes.killTree(c.pid)
                _ = waitpid(c.pid, nil, 0)
            }
            child = nil
        }
        // Shims outlive containerd by design; only ours name our socket.
        for pid in ProcessTable.withCommandLine(containing: socket) { kill(pid, SIGKILL) }
        lock.lock()
        let all = ids
        lock.unlock()
        for id in all { Cleanup.removeCgroup("\(Self.namespace)/\(id)") }
        // The namespace's parent cgroups, when nothing else uses them.
        Cleanup.removeCgroup(Self.namespace, killing: false)
        let problem = Cleanup.removeTree(dir)
        if !problem.isEmpty { FileHandle.standardError.write(Data("DropInTests: \(problem)\n".utf8)) }
    }
}

/// Suite trait: one private containerd for the whole suite, stopped and cleaned up after it.
struct PrivateContainerd: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let daemon = try ContainerdDaemon()
        defer { daemon.stop() }
        try await ContainerdDaemon.$current.withValue(daemon) { try await function() }
    }
}

extension Trait where Self == PrivateContainerd {
    static var privateContainerd: PrivateContainerd { PrivateContainerd() }
}
