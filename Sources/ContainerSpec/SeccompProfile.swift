import OCI

/// A seccomp profile in Docker's format (moby profiles/seccomp): OCI's linux.seccomp plus
/// rules that apply only on some architectures, with some capabilities or from some kernel
/// on, and an `archMap` from the native architecture to the ones a process may switch to.
/// `resolved(for:)` turns it into the linux.seccomp of one container on this host, as
/// Docker's setupSeccomp does. The default profile is `SeccompProfile.docker`.
public struct SeccompProfile: Decodable, Sendable, Equatable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    /// OCI's plain list; a profile has this or `archMap`, not both.
    public var architectures: [String]?
    public var archMap: [ArchMap]?
    public var flags: [String]?
    public var listenerPath: String?
    public var listenerMetadata: String?
    public var syscalls: [Rule]?

    public init(defaultAction: String, defaultErrnoRet: UInt32? = nil, archMap: [ArchMap]? = nil, syscalls: [Rule]) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.archMap = archMap
        self.syscalls = syscalls
    }

    public struct ArchMap: Decodable, Sendable, Equatable {
        public var architecture: String
        public var subArchitectures: [String]?
        public init(_ architecture: String, _ subArchitectures: [String]? = nil) {
            self.architecture = architecture
            self.subArchitectures = subArchitectures
        }
    }

    /// One rule: the syscalls `names` (or the legacy single `name`) get `action`.
    public struct Rule: Decodable, Sendable, Equatable {
        public var name: String?
        public var names: [String]?
        public var action: String
        public var errnoRet: UInt32?
        public var args: [Arg]?
        public var comment: String?
        /// The rule applies only when all of these hold…
        public var includes: Filter?
        /// …and none of these.
        public var excludes: Filter?

        public init(_ names: [String], _ action: String = "SCMP_ACT_ALLOW", errnoRet: UInt32? = nil,
                    args: [Arg]? = nil, includes: Filter? = nil, excludes: Filter? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.includes = includes
            self.excludes = excludes
        }
    }

    public struct Arg: Decodable, Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String
        public init(_ index: UInt32, _ op: String, _ value: UInt64, _ valueTwo: UInt64? = nil) {
            self.index = index; self.op = op; self.value = value; self.valueTwo = valueTwo
        }
    }

    /// Conditions of a rule. `arches` are Docker's (Go's) names: amd64, arm64, x86, s390x, …
    /// includes.caps: every one is in the bounding set; excludes.caps: any one is.
    /// minKernel "MAJOR.MINOR": the host kernel is at least that.
    public struct Filter: Decodable, Sendable, Equatable {
        public var caps: [String]?
        public var arches: [String]?
        public var minKernel: String?
        public init(caps: [String]? = nil, arches: [String]? = nil, minKernel: String? = nil) {
            self.caps = caps; self.arches = arches; self.minKernel = minKernel
        }
    }

    /// A profile from its JSON text (`--security-opt seccomp=FILE`, read by the CLI).
    public init(json: String) throws(ContainerSpecError) {
        do {
            self = try JSONValueDecoder().decode(SeccompProfile.self, from: Array(json.utf8))
        } catch {
            throw ContainerSpecError(.invalidSeccompProfile, "decoding seccomp profile failed: \(error)")
        }
    }

    /// What the rules are judged against.
    public struct Target: Sendable {
        /// The container's bounding set ("CAP_SYS_ADMIN", …).
        public var capabilities: [String]
        /// Go's name of the native architecture (amd64, arm64, …).
        public var arch: String
        /// The host kernel's (major, minor).
        public var kernel: (Int, Int)
        public init(capabilities: [String], arch: String, kernel: (Int, Int)) {
            self.capabilities = capabilities; self.arch = arch; self.kernel = kernel
        }
    }

    /// linux.seccomp for one container; nil when the profile is empty (no default action
    /// and no rules: Docker's way of saying unconfined).
    public func resolved(for target: Target) throws(ContainerSpecError) -> RuntimeConfig.Seccomp? {
        if defaultAction.isEmpty && (syscalls ?? []).isEmpty { return nil }
        if !(architectures ?? []).isEmpty && !(archMap ?? []).isEmpty {
            throw ContainerSpecError(.invalidSeccompProfile,
                "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")
        }
        var arches = architectures ?? []
        if let native = Self.scmpArch[target.arch], let entry = archMap?.first(where: { $0.architecture == native }) {
            arches = [entry.architecture] + (entry.subArchitectures ?? [])
        }
        var out = RuntimeConfig.Seccomp(defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet,
                                        architectures: arches.isEmpty ? nil : arches, flags: flags,
                                        listenerPath: listenerPath, listenerMetadata: listenerMetadata, syscalls: [])
        for rule in syscalls ?? [] {
            var names = rule.names ?? []
            if let name = rule.name, !name.isEmpty {
                guard names.isEmpty else {
                    throw ContainerSpecError(.invalidSeccompProfile,
                        "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'")
                }
                names = [name]
            }
            if let ex = rule.excludes {
                if let a = ex.arches, a.contains(target.arch) { continue }
                if let c = ex.caps, c.contains(where: target.capabilities.contains) { continue }
                if let k = ex.minKernel, try Self.kernel(target.kernel, atLeast: k) { continue }
            }
            if let inc = rule.includes {
                if let a = inc.arches, !a.isEmpty, !a.contains(target.arch) { continue }
                if let c = inc.caps, !c.allSatisfy(target.capabilities.contains) { continue }
                if let k = inc.minKernel, try !Self.kernel(target.kernel, atLeast: k) { continue }
            }
            if names.isEmpty { continue }
            out.syscalls.append(.init(names: names, action: rule.action, errnoRet: rule.errnoRet,
                                      args: rule.args.map { $0.map { .init(index: $0.index, value: $0.value, valueTwo: $0.valueTwo, op: $0.op) } }))
        }
        return out
    }

    static func kernel(_ host: (Int, Int), atLeast text: String) throws(ContainerSpecError) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else {
            throw ContainerSpecError(.invalidSeccompProfile, "invalid kernel version: \(text), expected MAJOR.MINOR")
        }
        return host.0 > major || (host.0 == major && host.1 >= minor)
    }

    /// Go's architecture names → libseccomp's.
    static let scmpArch: [String: String] = [
        "x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "x32": "SCMP_ARCH_X32",
        "arm": "SCMP_ARCH_ARM", "arm64": "SCMP_ARCH_AARCH64", "loong64": "SCMP_ARCH_LOONGARCH64",
        "mips64": "SCMP_ARCH_MIPS64", "mips64n32": "SCMP_ARCH_MIPS64N32", "mipsel64": "SCMP_ARCH_MIPSEL64",
        "mipsel64n32": "SCMP_ARCH_MIPSEL64N32", "mipsel": "SCMP_ARCH_MIPSEL", "ppc": "SCMP_ARCH_PPC",
        "ppc64": "SCMP_ARCH_PPC64", "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64",
        "s390": "SCMP_ARCH_S390", "s390x": "SCMP_ARCH_S390X",
    ]
}
