import RPC

extension SpecBuilder {
    /// CFS period that `--cpus` is expressed in (Docker's).
    public static let defaultCPUPeriod: Int64 = 100_000

    /// The device cgroup rules every container gets: Docker's spec (deny all; null, zero,
    /// urandom, random, tty, console; deny fuse) followed by what runc adds to every
    /// container (mknod of any node, full, ptmx, the pts slaves), written out so that the
    /// spec says everything the container may open.
    public static let defaultDeviceRules: [RuntimeConfig.DeviceRule] = [
        .init(allow: false),
        .init(allow: true, type: "c", major: 1, minor: 5),    // /dev/zero
        .init(allow: true, type: "c", major: 1, minor: 3),    // /dev/null
        .init(allow: true, type: "c", major: 1, minor: 9),    // /dev/urandom
        .init(allow: true, type: "c", major: 1, minor: 8),    // /dev/random
        .init(allow: true, type: "c", major: 5, minor: 0),    // /dev/tty
        .init(allow: true, type: "c", major: 5, minor: 1),    // /dev/console
        .init(allow: false, type: "c", major: 10, minor: 229), // /dev/fuse
        .init(allow: true, type: "c", access: "m"),           // mknod of any char device…
        .init(allow: true, type: "b", access: "m"),           // …and block device (opening them is still denied)
        .init(allow: true, type: "c", major: 1, minor: 7),    // /dev/full
        .init(allow: true, type: "c", major: 5, minor: 2),    // /dev/ptmx
        .init(allow: true, type: "c", major: 136),            // /dev/pts/*
    ]

    /// linux.resources and linux.devices.
    func resources(_ input: Input, warnings: inout [String]) throws(ContainerSpecError) -> (RuntimeConfig.Resources, [RuntimeConfig.Device]) {
        let hc = input.hostConfig
        var devices: [RuntimeConfig.Device] = []
        var rules: [RuntimeConfig.DeviceRule]
        if hc.privileged ?? false {
            devices = DeviceInfo.hostDevices()
            rules = [.init(allow: true)]
        } else {
            rules = Self.defaultDeviceRules
        }
        for mapping in hc.devices ?? [] {
            let (more, allow) = try Self.devices(for: mapping)
            for d in more {
                devices.removeAll { $0.path == d.path }
                devices.append(d)
            }
            if !(hc.privileged ?? false) { rules += allow }
        }
        let resources = RuntimeConfig.Resources(devices: rules,
                                                memory: try memory(hc, warnings: &warnings),
                                                cpu: try cpu(hc),
                                                pids: (hc.pidsLimit ?? 0) > 0 ? .init(limit: hc.pidsLimit!) : nil)
        return (resources, devices)
    }

    /// `--device /dev/x[:/dev/y[:rwm]]`: the node as the host has it (a directory: every
    /// node under it), at the container path, with an allow rule per node.
    static func devices(for mapping: BerthAPI.DeviceMapping) throws(ContainerSpecError) -> ([RuntimeConfig.Device], [RuntimeConfig.DeviceRule]) {
        let perms = mapping.cgroupPermissions.isEmpty ? "rwm" : mapping.cgroupPermissions
        guard perms.allSatisfy({ "rwm".contains($0) }), Set(perms).count == perms.count else {
            throw ContainerSpecError(.invalidDevice, "invalid device mode: \(mapping.cgroupPermissions)")
        }
        let hostPath = mapping.pathOnHost
        guard hostPath.hasPrefix("/") else { throw ContainerSpecError(.invalidDevice, "invalid device path: \(hostPath) is not absolute") }
        let containerPath = mapping.pathInContainer.isEmpty ? hostPath : mapping.pathInContainer
        guard containerPath.hasPrefix("/") else {
            throw ContainerSpecError(.invalidDevice, "invalid device path in the container: \(containerPath) is not absolute")
        }
        var nodes: [RuntimeConfig.Device] = []
        if let d = try DeviceInfo.device(at: hostPath, containerPath: containerPath) {
            nodes = [d]
        } else if DeviceInfo.isDirectory(hostPath) {
            for d in DeviceInfo.hostDevices(under: hostPath) {
                var mapped = d
                mapped.path = clean(containerPath + "/" + d.path.dropFirst(hostPath.count))
                nodes.append(mapped)
            }
            if nodes.isEmpty {
                throw ContainerSpecError(.invalidDevice,
                    "error gathering device information while adding custom device \"\(hostPath)\": no device nodes in the directory")
            }
        } else {
            throw ContainerSpecError(.invalidDevice,
                "error gathering device information while adding custom device \"\(hostPath)\": not a device node")
        }
        let rules = nodes.map { RuntimeConfig.DeviceRule(allow: true, type: $0.type, major: $0.major, minor: $0.minor, access: perms) }
        return (nodes, rules)
    }

    /// Memory, reservation and swap, with Docker's checks (daemon verifyPlatformContainerResources).
    func memory(_ hc: BerthAPI.HostConfig, warnings: inout [String]) throws(ContainerSpecError) -> RuntimeConfig.Memory? {
        let memory = hc.memory ?? 0
        var swap = hc.memorySwap ?? 0
        let reservation = hc.memoryReservation ?? 0
        if memory < 0 || reservation < 0 || swap < -1 {
            throw ContainerSpecError(.invalidResources, "memory limits must not be negative (memory-swap may be -1 for unlimited)")
        }
        if memory > 0 && memory < 6 * 1024 * 1024 {
            throw ContainerSpecError(.invalidResources, "Minimum memory limit allowed is 6MB")
        }
        if memory == 0 && swap > 0 {
            throw ContainerSpecError(.invalidResources, "You should always set the Memory limit when using Memoryswap limit, see usage")
        }
        if memory > 0 && swap > 0 && swap < memory {
            throw ContainerSpecError(.invalidResources, "Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        if memory > 0 && reservation > 0 && memory < reservation {
            throw ContainerSpecError(.invalidResources, "Minimum memory limit can not be less than memory reservation limit, see usage")
        }
        if reservation > 0 && reservation < 6 * 1024 * 1024 {
            throw ContainerSpecError(.invalidResources, "Minimum memory reservation allowed is 6MB")
        }
        // Docker: an unset swap with a memory limit is as much swap as memory again.
        if memory > 0 && swap == 0 { swap = memory * 2 }
        if swap != 0 && !host.swapLimit {
            warnings.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.")
            swap = 0
        }
        let m = RuntimeConfig.Memory(limit: memory > 0 ? memory : nil,
                                     reservation: reservation > 0 ? reservation : nil,
                                     swap: swap != 0 ? swap : nil)
        return m == RuntimeConfig.Memory() ? nil : m
    }

    /// CPU shares, quota/period (or `--cpus`), cpuset.
    func cpu(_ hc: BerthAPI.HostConfig) throws(ContainerSpecError) -> RuntimeConfig.CPU? {
        var cpu = RuntimeConfig.CPU()
        let nano = hc.nanoCpus ?? 0
        if nano != 0 {
            if (hc.cpuPeriod ?? 0) != 0 {
                throw ContainerSpecError(.invalidResources, "Conflicting options: Nano CPUs and CPU Period cannot both be set")
            }
            if (hc.cpuQuota ?? 0) != 0 {
                throw ContainerSpecError(.invalidResources, "Conflicting options: Nano CPUs and CPU Quota cannot both be set")
            }
            if nano < 0 || nano > Int64(host.cpuCount) * 1_000_000_000 {
                throw ContainerSpecError(.invalidResources,
                    "Range of CPUs is from 0.01 to \(host.cpuCount).00, as there are only \(host.cpuCount) CPUs available")
            }
            cpu.period = UInt64(Self.defaultCPUPeriod)
            // The kernel's minimum quota is 1 ms.
            cpu.quota = max(1000, nano * Self.defaultCPUPeriod / 1_000_000_000)
        }
        if let period = hc.cpuPeriod, period != 0 {
            guard (1000...1_000_000).contains(period) else {
                throw ContainerSpecError(.invalidResources, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
            }
            cpu.period = UInt64(period)
        }
        if let quota = hc.cpuQuota, quota != 0 {
            guard quota >= 1000 || quota == -1 else {
                throw ContainerSpecError(.invalidResources, "CPU cfs quota can not be less than 1ms (i.e. 1000)")
            }
            cpu.quota = quota
        }
        if let shares = hc.cpuShares, shares != 0 {
            guard shares > 0 else { throw ContainerSpecError(.invalidResources, "invalid CPU shares \(shares): must be positive") }
            cpu.shares = UInt64(shares)
        }
        for (name, value) in [("cpuset-cpus", hc.cpusetCpus), ("cpuset-mems", hc.cpusetMems)] {
            guard let v = nonEmpty(value) else { continue }
            guard Self.validCPUList(v) else {
                throw ContainerSpecError(.invalidResources, "invalid value \(v) for \(name): expected a list like 0-3,5")
            }
            if name == "cpuset-cpus" { cpu.cpus = v } else { cpu.mems = v }
        }
        return cpu == RuntimeConfig.CPU() ? nil : cpu
    }

    /// "0-3,5,7-8".
    static func validCPUList(_ s: String) -> Bool {
        s.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), ends.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return false }
            return ends.count == 1 || Int(ends[0])! <= Int(ends[1])!
        }
    }
}
