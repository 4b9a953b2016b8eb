import OCI
import RPC

/// Builds the OCI runtime spec (config.json) of a container from its merged Config and
/// its HostConfig, with Docker's defaults and rules (docs/container-spec.md). The
/// builder reads the rootfs's /etc/passwd and /etc/group (inside the rootfs) and, for
/// `--device` and `--privileged`, the host's device nodes; it writes nothing.
///
///     let merged = params.config.merged(image: image.config)
///     let built = try SpecBuilder().build(.init(id: id, config: merged, hostConfig: params.hostConfig,
///                                              rootfs: bundle + "/rootfs", initPath: "/usr/libexec/berth/berth-init"))
///     try write(built.json(), to: bundle + "/config.json")
public struct SpecBuilder: Sendable {
    public var host: HostInfo

    public init(host: HostInfo = .detect()) {
        self.host = host
    }

    /// Where the namespaces of `container:NAME` modes are: the manager resolves NAME to the
    /// other container's pid and passes "/proc/PID/ns/net" and so on.
    public enum NamespaceKind: String, Sendable, Hashable {
        case network, pid, ipc, uts
    }

    public struct Input: Sendable {
        /// 64 hex characters; the hostname is its first 12, the cgroup "/berth/<id>".
        public var id: String
        /// The merged Config (`ContainerConfig.merged(image:)`).
        public var config: BerthAPI.ContainerConfig
        public var hostConfig: BerthAPI.HostConfig
        /// Absolute path of the mounted rootfs: root.path, and where passwd and group are read.
        public var rootfs: String
        /// Host path of berth-init, bind-mounted read-only at /sbin/berth-init with `--init`.
        public var initPath: String?
        /// Namespace paths for the `container:NAME` modes, and the network namespace the
        /// manager made for the container (joined in the network modes that get their own).
        public var namespacePaths: [NamespaceKind: String]
        /// Mounts the manager adds (volumes, binds, /etc/hosts, /etc/resolv.conf…); they
        /// replace a default mount at the same destination, and go after the defaults
        /// sorted by depth so that a parent is mounted before its children.
        public var extraMounts: [RuntimeConfig.Mount]
        /// `--link` variables (ALIAS_PORT_80_TCP=…): after Docker's defaults, before the
        /// container's own Env, which overrides them.
        public var linkEnvironment: [String]

        public init(id: String, config: BerthAPI.ContainerConfig, hostConfig: BerthAPI.HostConfig, rootfs: String,
                    initPath: String? = nil, namespacePaths: [NamespaceKind: String] = [:], extraMounts: [RuntimeConfig.Mount] = [],
                    linkEnvironment: [String] = []) {
            self.id = id; self.config = config; self.hostConfig = hostConfig; self.rootfs = rootfs
            self.initPath = initPath; self.namespacePaths = namespacePaths; self.extraMounts = extraMounts
            self.linkEnvironment = linkEnvironment
        }
    }

    /// The spec, and what Docker would have warned about while making it.
    public struct Output: Sendable {
        public var spec: RuntimeConfig
        /// E.g. "Your kernel does not support swap limit capabilities…": the create result's Warnings.
        public var warnings: [String]

        /// config.json's bytes.
        public func json() throws -> [UInt8] { Array(try spec.json().utf8) }
    }

    public func build(_ input: Input) throws(ContainerSpecError) -> Output {
        let hc = input.hostConfig
        let privileged = hc.privileged ?? false
        var warnings: [String] = []
        guard input.id.count == 64, input.id.allSatisfy({ $0.isHexDigit }) else {
            throw ContainerSpecError(.invalidConfig, "invalid container id \(input.id.debugDescription): expected 64 hex characters")
        }
        guard input.rootfs.hasPrefix("/") else {
            throw ContainerSpecError(.invalidConfig, "the rootfs path \(input.rootfs.debugDescription) is not absolute")
        }

        let security = try SecurityOptions(hc.securityOpt ?? [], seccompProfile: hc.seccompProfile)
        let namespaces = try namespaces(input)
        let hostname = try hostname(input)
        let caps = try CapabilitySet.resolve(add: hc.capAdd ?? [], drop: hc.capDrop ?? [], privileged: privileged, lastCap: host.lastCap)
        var process = try process(input, hostname: hostname ?? host.hostname, capabilities: caps, security: security)
        var mounts = try mounts(input, security: security)
        if hc.`init` == true {
            guard let initPath = input.initPath else {
                throw ContainerSpecError(.initNotFound, "--init: no berth-init binary is installed (initPath is not set)")
            }
            mounts.append(.init(destination: Self.initDestination, type: "bind", source: initPath, options: ["bind", "ro"]))
            process.args = [Self.initDestination, "--"] + process.args
        }
        let (resources, devices) = try resources(input, warnings: &warnings)

        var seccomp: RuntimeConfig.Seccomp?
        if !privileged {
            let target = SeccompProfile.Target(capabilities: caps, arch: host.arch, kernel: (host.kernelMajor, host.kernelMinor))
            switch security.seccomp {
            case .unconfined: seccomp = nil
            case .default: seccomp = try SeccompProfile.docker.resolved(for: target)
            case .profile(let p): seccomp = try p.resolved(for: target)
            }
        }

        let confined = !privileged && !security.unconfinedSystemPaths
        var sysctl: [String: String]?
        if case .new = networkMode(hc.networkMode) {
            // Docker: a container in its own network namespace may bind ports below 1024 and
            // ping without capabilities (both are per network namespace).
            sysctl = ["net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"]
        }
        let linux = RuntimeConfig.Linux(
            sysctl: sysctl,
            resources: resources,
            cgroupsPath: "/berth/" + input.id,
            namespaces: namespaces,
            devices: devices.isEmpty ? nil : devices,
            seccomp: seccomp,
            maskedPaths: confined ? Self.maskedPaths + host.thermalThrottlePaths : nil,
            readonlyPaths: confined ? Self.readonlyPaths : nil)
        let spec = RuntimeConfig(
            process: process,
            root: .init(path: input.rootfs, readonly: (hc.readonlyRootfs ?? false) ? true : nil),
            hostname: hostname,
            domainname: hostname == nil ? nil : nonEmpty(input.config.domainname),
            mounts: mounts,
            linux: linux)
        return Output(spec: spec, warnings: warnings)
    }

    /// Where `--init` puts berth-init in the container.
    public static let initDestination = "/sbin/berth-init"

    /// Docker's masked paths (moby daemon/pkg/oci/defaults.go); /proc/interrupts and the
    /// powercap and thermal_throttle files leak host activity (GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p).
    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
        "/sys/devices/virtual/powercap", "/sys/firmware",
    ]

    /// Docker's read-only paths.
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
}

/// nil for nil and "": an option the user left out (Docker treats both alike).
public func nonEmpty(_ s: String?) -> String? {
    guard let s, !s.isEmpty else { return nil }
    return s
}
