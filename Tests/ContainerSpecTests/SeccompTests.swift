import CSeccomp
import ContainerSpec
import OCI
import Testing

@Suite struct SeccompTests {
    /// Syscalls of Docker's profile that are newer than Debian 12's libseccomp (2.5.4):
    /// the runtime skips a name libseccomp does not know, as runc does. Anything else
    /// unknown is a typo in the profile.
    static let newerThanLibseccomp: Set<String> = [
        "getxattrat", "listmount", "listxattrat", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
        "mseal", "removexattrat", "riscv_hwprobe", "setxattrat", "statmount", "uretprobe",
    ]

    @Test func everyNameIsASyscall() {
        let names = Set(SeccompProfile.docker.syscalls!.flatMap { $0.names ?? [] })
        #expect(names.count > 380)
        for name in names.sorted() where !Self.newerThanLibseccomp.contains(name) {
            // Known on some architecture: a syscall number (or a negative pseudo-number
            // for one this architecture lacks), never __NR_SCMP_ERROR.
            #expect(seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR, "unknown syscall \(name)")
        }
    }

    @Test func defaultProfileStructure() throws {
        let p = SeccompProfile.docker
        #expect(p.defaultAction == "SCMP_ACT_ERRNO")
        #expect(p.defaultErrnoRet == 1)
        for rule in p.syscalls! {
            #expect(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"].contains(rule.action))
            for arg in rule.args ?? [] {
                #expect(["SCMP_CMP_LT", "SCMP_CMP_EQ", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"].contains(arg.op))
            }
        }
        // LoongArch came with libseccomp 2.6; Debian 12 has 2.5.4.
        for arch in p.archMap! where arch.architecture != "SCMP_ARCH_LOONGARCH64" {
            #expect(seccomp_arch_resolve_name(String(arch.architecture.dropFirst(10)).lowercased()) != 0, "\(arch.architecture)")
        }
    }

    func resolved(_ caps: [String], arch: String = "amd64", kernel: (Int, Int) = (6, 1)) throws -> RuntimeConfig.Seccomp {
        try #require(try SeccompProfile.docker.resolved(for: .init(capabilities: caps, arch: arch, kernel: kernel)))
    }

    func allowed(_ s: RuntimeConfig.Seccomp, _ name: String) -> Bool {
        s.syscalls.contains { $0.action == "SCMP_ACT_ALLOW" && $0.names.contains(name) && $0.args == nil }
    }

    @Test func defaultCapsOnAmd64() throws {
        let s = try resolved(CapabilitySet.defaults)
        #expect(s.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #expect(allowed(s, "read") && allowed(s, "arch_prctl") && allowed(s, "modify_ldt") && allowed(s, "chroot"))
        #expect(!allowed(s, "mount") && !allowed(s, "unshare") && !allowed(s, "reboot"))
        #expect(allowed(s, "ptrace"))
        #expect(!allowed(s, "set_tls") && !allowed(s, "s390_runtime_instr"))
        // clone without namespace flags; clone3 fails with ENOSYS so libc falls back to clone.
        let clone = try #require(s.syscalls.first { $0.names == ["clone"] })
        #expect(clone.args == [.init(index: 0, value: 2114060288, valueTwo: nil, op: "SCMP_CMP_MASKED_EQ")])
        let clone3 = try #require(s.syscalls.first { $0.names == ["clone3"] })
        #expect(clone3.action == "SCMP_ACT_ERRNO" && clone3.errnoRet == 38)
        #expect(s.syscalls.filter { $0.names == ["personality"] }.count == 5)
    }

    @Test func ptraceNeedsKernel48() throws {
        #expect(!allowed(try resolved(CapabilitySet.defaults, kernel: (4, 4)), "ptrace"))
        #expect(allowed(try resolved(CapabilitySet.defaults, kernel: (4, 8)), "ptrace"))
    }

    @Test func sysAdminOpensMountAndClone() throws {
        let s = try resolved(CapabilitySet.defaults + ["CAP_SYS_ADMIN"])
        #expect(allowed(s, "mount") && allowed(s, "clone") && allowed(s, "clone3") && allowed(s, "setns"))
        #expect(!s.syscalls.contains { $0.names == ["clone"] && $0.args != nil })
        #expect(!s.syscalls.contains { $0.action == "SCMP_ACT_ERRNO" })
    }

    @Test func otherArchitecture() throws {
        let s = try resolved(CapabilitySet.defaults, arch: "arm64")
        #expect(s.architectures == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
        #expect(allowed(s, "set_tls") && !allowed(s, "arch_prctl"))
    }

    @Test func customDockerProfile() throws {
        let json = """
            {
              "defaultAction": "SCMP_ACT_ERRNO",
              "defaultErrnoRet": 1,
              "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
              "flags": ["SECCOMP_FILTER_FLAG_LOG"],
              "syscalls": [
                {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                {"name": "getpid", "action": "SCMP_ACT_ERRNO", "errnoRet": 99},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
                {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
                {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "comment": "tty only",
                 "args": [{"index": 1, "value": 21505, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
              ]
            }
            """
        let profile = try SeccompProfile(json: json)
        let s = try #require(try profile.resolved(for: .init(capabilities: CapabilitySet.defaults, arch: "amd64", kernel: (6, 1))))
        #expect(s.defaultAction == "SCMP_ACT_ERRNO" && s.defaultErrnoRet == 1)
        #expect(s.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        #expect(s.flags == ["SECCOMP_FILTER_FLAG_LOG"])
        #expect(s.syscalls.map(\.names) == [["read", "write", "exit_group"], ["getpid"], ["ioctl"]])
        #expect(s.syscalls[1].errnoRet == 99)
        #expect(s.syscalls[2].args == [.init(index: 1, value: 21505, valueTwo: 0, op: "SCMP_CMP_EQ")])
        // As config.json.
        let text = try JSONValueEncoder().encodeText(s)
        #expect(text.contains("\"defaultErrnoRet\":1"))
    }

    /// The encoded profile is reused for an equal profile only: alternating
    /// profiles (default capabilities, then all of them) encode as each is.
    @Test func encodingReusesOnlyAnEqualProfile() throws {
        let plain = try #require(try SeccompProfile.docker.resolved(for: .init(capabilities: CapabilitySet.defaults, arch: "amd64", kernel: (6, 1))))
        let admin = try #require(try SeccompProfile.docker.resolved(for: .init(capabilities: CapabilitySet.defaults + ["CAP_SYS_ADMIN"],
                                                                                  arch: "amd64", kernel: (6, 1))))
        #expect(plain != admin)
        func names(_ text: String) throws -> Set<String> {
            let v = try JSONParser.parse(Array(text.utf8))
            return Set((v["syscalls"]?.arrayValue ?? []).flatMap { ($0["names"]?.arrayValue ?? []).compactMap(\.stringValue) })
        }
        let expected = [Set(plain.syscalls.flatMap(\.names)), Set(admin.syscalls.flatMap(\.names))]
        #expect(expected[0] != expected[1])
        for (i, s) in [plain, admin, plain, plain, admin].enumerated() {
            #expect(try names(JSONValueEncoder().encodeText(s)) == expected[s == plain ? 0 : 1], "encoding \(i)")
        }
    }

    @Test func badProfiles() {
        #expect(throws: ContainerSpecError.self) { try SeccompProfile(json: "{not json") }
        #expect(throws: ContainerSpecError.self) {
            try SeccompProfile(json: #"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#)
                .resolved(for: .init(capabilities: [], arch: "amd64", kernel: (6, 1)))
        }
        #expect(throws: ContainerSpecError.self) {
            try SeccompProfile(json: #"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#)
                .resolved(for: .init(capabilities: [], arch: "amd64", kernel: (6, 1)))
        }
    }

    @Test func emptyProfileIsUnconfined() throws {
        #expect(try SeccompProfile(json: #"{"defaultAction":""}"#).resolved(for: .init(capabilities: [], arch: "amd64", kernel: (6, 1))) == nil)
    }
}
