// A private podman store for the drop-in tests: `podman --root --runroot --tmpdir` in a
// scratch directory, cgroupfs, file events, the busybox image loaded with `podman load`.
// Containers run with `podman --runtime <runtime path>`; conmon calls the runtime with
// its default --root (/run/berth-runtime for berth-runtime, /run/runc for runc).

import Foundation
import Glibc
import Testing

final class PodmanStore: @unchecked Sendable {
    @TaskLocal static var current: PodmanStore?

    let dir: String
    private(set) var berthPath = ""

    /// Container limits that fit this host: podman's defaults (nofile 1048576, nproc
    /// 4194304 or so) exceed the hard limits of a sandbox without CAP_SYS_RESOURCE, and
    /// then runc fails as well ("error setting rlimits"). Real podman users set the same
    /// with --ulimit or containers.conf default_ulimits.
    static let ulimits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

    init() throws {
        dir = try DropIn.makeScratch("podman")
        do {
            if OCIRuntime.selected.contains(.berth) { berthPath = try DropIn.copyBerth(into: dir) }
            let image = try DropIn.makeImage(in: dir + "/image")
            let r = podman(nil, ["load", "-i", image], timeout: 120)
            guard r.status == 0 else { throw DropInFailure("podman load failed:\n\(r)") }
        } catch {
            stop()
            throw error
        }
    }

    func binary(_ rt: OCIRuntime) throws -> String {
        switch rt {
        case .berth: return berthPath
        case .runc:
            guard let p = DropIn.runcPath else { throw DropInFailure("runc is not installed (tests/dropin/install-deps.sh)") }
            return p
        }
    }

    /// The runtime's default --root, the one conmon's calls use.
    func runtimeDefaultRoot(_ rt: OCIRuntime) -> String { rt == .berth ? "/run/berth-runtime" : "/run/runc" }

    /// The global options of every podman call (a private, self-contained store).
    var globalOptions: [String] {
        ["--root", dir + "/storage", "--runroot", dir + "/run", "--tmpdir", dir + "/tmp",
         "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
        + (ProcessInfo.processInfo.environment["BERTH_DROPIN_DEBUG"] != nil ? ["--log-level", "debug"] : [])
    }

    /// The argv of `podman <global options> [--runtime RT] ARGS`.
    func argv(_ rt: OCIRuntime?, _ args: [String]) throws -> [String] {
        var a = ["podman"] + globalOptions
        if let rt { a += ["--runtime", try binary(rt)] }
        return a + args
    }

    func podman(_ rt: OCIRuntime?, _ args: [String], timeout: Double = 90) -> Output {
        do { return run(try argv(rt, args), timeout: timeout) } catch {
            return Output(status: 127, stdout: "", stderr: "\(error)", timedOut: false, argv: args)
        }
    }

    /// `podman inspect --format FORMAT NAME`, trimmed.
    func inspect(_ name: String, _ format: String) -> String {
        podman(nil, ["inspect", "--format", format, name], timeout: 30).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Removes container NAME whatever its state (stopped with SIGKILL at once).
    func remove(_ rt: OCIRuntime, _ name: String) {
        let r = podman(rt, ["rm", "--force", "--time", "0", "--ignore", name], timeout: 60)
        if r.status != 0 { FileHandle.standardError.write(Data("DropInTests: cleanup of \(name): \(r)\n".utf8)) }
    }

    /// Removes every container, then unmounts and deletes the store.
    func stop() {
        for rt in OCIRuntime.selected { _ = podman(rt, ["rm", "--all", "--force", "--time", "0"], timeout: 120) }
        // conmon and anything else still using the store (only processes of this store
        // name its directory on their command line).
        for pid in ProcessTable.withCommandLine(containing: dir + "/") { kill(pid, SIGKILL) }
        let problem = Cleanup.removeTree(dir)
        if !problem.isEmpty { FileHandle.standardError.write(Data("DropInTests: \(problem)\n".utf8)) }
    }
}

/// Suite trait: one private podman store for the whole suite, removed after it.
struct PrivatePodmanStore: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let store = try PodmanStore()
        defer { store.stop() }
        try await PodmanStore.$current.withValue(store) { try await function() }
    }
}

extension Trait where Self == PrivatePodmanStore {
    static var privatePodmanStore: PrivatePodmanStore { PrivatePodmanStore() }
}
