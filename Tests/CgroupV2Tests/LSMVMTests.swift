// berth-runtime's AppArmor and SELinux support, checked on kernels that run them.
//
// The build and test machines run no security module, so there only the
// refusal is testable (RuntimeTests' securityModulesAbsentFromHostAreRefused).
// Here the same throw-away qemu VM as the cgroup v2 check (../shared/vm,
// Debian's 6.1 kernel, which has both built in) is booted once per module:
//   AppArmor  the kernel's default; tests/vm/berth-test.apparmor is compiled on
//             the host with apparmor_parser and loaded in the VM by writing it to
//             /sys/kernel/security/apparmor/.load;
//   SELinux   booted with lsm=...,selinux,...; tests/vm/berth-test.selinux (a
//             minimal policy) is compiled on the host with checkpolicy and loaded
//             through /sys/fs/selinux/load, then enforcing is switched on.
// In each VM tests/vm/lsm-check.sh runs containers with and without a profile or
// label and prints TAP: one expectation per check. The two tests run in
// parallel. docs/lsm-vm.md says what is checked and how to run it by hand.
//
// Needs what CgroupV2VMTests needs (the static binary: a missing or dynamic one
// is a failure; skipped when ../shared/vm is absent or the host cannot run the
// VM), plus apparmor_parser and checkpolicy, which
// tests/vm/install-host-deps.sh --lsm installs (Debian's apparmor and
// checkpolicy packages).

import Foundation
import Glibc
import Testing

enum LSMVM {
    static var checkScript: String { VM.packageRoot + "/tests/vm/lsm-check.sh" }
    static var appArmorProfiles: String { VM.packageRoot + "/tests/vm/berth-test.apparmor" }
    static var selinuxPolicy: String { VM.packageRoot + "/tests/vm/berth-test.selinux" }

    /// install-host-deps.sh --lsm: the VM's needs and the two policy compilers.
    /// After VM.host (evaluated once, thread-safely): two scripts running
    /// apt-get at once would trip over dpkg's lock.
    static let host: HostSetup = {
        _ = VM.host
        return HostSetup.prepare(["--lsm"])
    }()

    static var hostUsable: Bool {
        guard VM.sharedVMPresent else { return false }
        if case .unavailable(let why) = host { return VM.skip(why, "the AppArmor/SELinux VM checks") }
        return true
    }

    /// The VM's kernel arguments for SELinux: the kernel's LSM list with
    /// selinux in apparmor's place (the two cannot be active together).
    static let selinuxKernelArgs = "lsm=lockdown,capability,landlock,yama,selinux,bpf"

    /// The checks common to both tests before the VM boots: the static binary,
    /// the host setup. nil (with the issue recorded) when the test cannot go on.
    static func prepared() -> (kernel: String, modules: String, cache: String, values: [String: String])? {
        if let problem = StaticBinary.problem(VM.runtimePath) {
            Issue.record(Comment(rawValue: problem))
            return nil
        }
        switch host {
        case .ready(let kernel, let modules, let cache, let values): return (kernel, modules, cache, values)
        case .broken(let why): Issue.record(Comment(rawValue: "host setup failed: \(why)")); return nil
        case .unavailable: return nil
        }
    }

    /// A scratch directory for the compiled policy.
    static func workDir(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("berth-lsm-\(name)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

@Suite("AppArmor and SELinux (in a qemu VM)")
struct LSMVMTests {
    @Test("AppArmor: apparmorProfile and exec --apparmor confine the container; an unloaded profile is refused",
          .enabled(if: VM.sharedVMPresent, "../shared/vm (run-in-vm.sh) is not beside this checkout"),
          .enabled(if: LSMVM.hostUsable, "qemu, a kernel or apparmor_parser is unavailable and cannot be installed (see stderr)"),
          .timeLimit(.minutes(10)))
    func appArmor() throws {
        guard let host = LSMVM.prepared() else { return }
        guard let parser = host.values["apparmor_parser"], let abi = host.values["apparmor_abi"] else {
            Issue.record(Comment(rawValue: "install-host-deps.sh --lsm printed no apparmor_parser=/apparmor_abi= lines: \(host.values)"))
            return
        }
        let work = try LSMVM.workDir("apparmor")
        defer { try? FileManager.default.removeItem(atPath: work) }
        // Compiled for the feature set of AppArmor 3.0's ABI, not the host
        // kernel's (which may have no AppArmor at all): the 6.1 kernel loads it.
        let policy = work + "/berth-test.aa"
        let cc = Shell.run([parser, "--skip-kernel-load", "--skip-cache", "--features-file", abi,
                            "--ofile", policy, LSMVM.appArmorProfiles], timeout: 120)
        guard cc.status == 0 else {
            Issue.record("apparmor_parser \(LSMVM.appArmorProfiles) failed (status \(cc.status)): \(cc.stderr)")
            return
        }
        print(String(format: "[AppArmor host] apparmor_parser took %.1f s", cc.seconds))
        VMCheck.run("AppArmor", kernel: host.kernel, modules: host.modules, cache: host.cache,
                    files: [VM.runtimePath, VM.libScript, policy, LSMVM.checkScript],
                    command: ["./lsm-check.sh", "apparmor"])
    }

    @Test("SELinux: selinuxLabel, mountLabel and exec --process-label label the container; an invalid label is refused",
          .enabled(if: VM.sharedVMPresent, "../shared/vm (run-in-vm.sh) is not beside this checkout"),
          .enabled(if: LSMVM.hostUsable, "qemu, a kernel or checkpolicy is unavailable and cannot be installed (see stderr)"),
          .timeLimit(.minutes(10)))
    func selinux() throws {
        guard let host = LSMVM.prepared() else { return }
        guard let checkpolicy = host.values["checkpolicy"] else {
            Issue.record(Comment(rawValue: "install-host-deps.sh --lsm printed no checkpolicy= line: \(host.values)"))
            return
        }
        let work = try LSMVM.workDir("selinux")
        defer { try? FileManager.default.removeItem(atPath: work) }
        // Policy version 33 is the newest the 6.1 kernel reads; classes the
        // policy does not declare are allowed (-U allow).
        let policy = work + "/berth-test.sepolicy"
        let cc = Shell.run([checkpolicy, "-U", "allow", "-c", "33", "-o", policy, LSMVM.selinuxPolicy], timeout: 120)
        guard cc.status == 0 else {
            Issue.record("checkpolicy \(LSMVM.selinuxPolicy) failed (status \(cc.status)): \(cc.stderr)\(cc.stdout)")
            return
        }
        print(String(format: "[SELinux host] checkpolicy took %.1f s", cc.seconds))
        VMCheck.run("SELinux", kernel: host.kernel, modules: host.modules, cache: host.cache,
                    kernelArgs: LSMVM.selinuxKernelArgs,
                    files: [VM.runtimePath, VM.libScript, policy, LSMVM.checkScript],
                    command: ["./lsm-check.sh", "selinux"])
    }
}
