import ArgumentParser
import Glibc
import RPC

/// The flags `run` and `create` share, Docker's names and meanings. Options
/// end at the image: what follows it is the container's command.
struct CreateOptions: ParsableArguments {
    // Process and terminal
    @Flag(name: [.customShort("i"), .long], help: "Keep STDIN open even if not attached") var interactive = false
    @Flag(name: [.customShort("t"), .long], help: "Allocate a pseudo-TTY") var tty = false
    @Option(name: .long, help: "Assign a name to the container") var name: String?
    @Option(name: [.customShort("e"), .long], help: "Set environment variables") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read in a file of environment variables") var envFile: [String] = []
    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container") var workdir: String?
    @Option(name: [.customShort("u"), .long], help: "Username or UID (format: <name|uid>[:<group|gid>])") var user: String?
    @Option(name: .long, help: "Overwrite the default ENTRYPOINT of the image") var entrypoint: String?
    @Option(name: [.customShort("h"), .long], help: "Container host name") var hostname: String?
    @Option(name: .long, help: "Container NIS domain name") var domainname: String?
    @Option(name: [.customShort("l"), .long], help: "Set meta data on a container") var label: [String] = []
    @Option(name: .customLong("label-file"), help: "Read in a line delimited file of labels") var labelFile: [String] = []
    @Option(name: .customLong("stop-signal"), help: "Signal to stop the container") var stopSignal: String?
    @Option(name: .customLong("stop-timeout"), parsing: .unconditional, help: "Timeout (in seconds) to stop a container") var stopTimeout: Int?
    @Option(name: .long, help: "Restart policy to apply when a container exits (no, always, unless-stopped, on-failure[:max-retries])") var restart: String?
    @Flag(name: .long, help: "Automatically remove the container and its associated anonymous volumes when it exits") var rm = false
    @Option(name: .long, help: "Write the container ID to the file") var cidfile: String?
    @Flag(name: .long, help: "Run an init inside the container that forwards signals and reaps processes") var `init` = false
    @Option(name: .long, help: "Pull image before running (\"always\", \"missing\", \"never\")") var pull = "missing"

    // Isolation and security
    @Flag(name: .customLong("read-only"), help: "Mount the container's root filesystem as read only") var readOnly = false
    @Option(name: .long, help: "Mount a tmpfs directory") var tmpfs: [String] = []
    @Option(name: .long, help: "PID namespace to use") var pid: String?
    @Option(name: .long, help: "IPC mode to use") var ipc: String?
    @Option(name: .long, help: "UTS namespace to use") var uts: String?
    @Flag(name: .long, help: "Give extended privileges to this container") var privileged = false
    @Option(name: .customLong("cap-add"), help: "Add Linux capabilities") var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), help: "Drop Linux capabilities") var capDrop: [String] = []
    @Option(name: .customLong("security-opt"), help: "Security Options") var securityOpt: [String] = []
    @Option(name: .customLong("oom-score-adj"), parsing: .unconditional, help: "Tune host's OOM preferences (-1000 to 1000)") var oomScoreAdj: Int?

    // Resources
    @Option(name: [.customShort("m"), .long], help: "Memory limit") var memory: String?
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap") var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit") var memoryReservation: String?
    @Option(name: .long, help: "Number of CPUs") var cpus: String?
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "CPU shares (relative weight)") var cpuShares: Int64?
    @Option(name: .customLong("cpu-period"), help: "Limit CPU CFS (Completely Fair Scheduler) period") var cpuPeriod: Int64?
    @Option(name: .customLong("cpu-quota"), parsing: .unconditional, help: "Limit CPU CFS (Completely Fair Scheduler) quota") var cpuQuota: Int64?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs in which to allow execution (0-3, 0,1)") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "MEMs in which to allow execution (0-3, 0,1)") var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: "Tune container pids limit (set -1 for unlimited)") var pidsLimit: Int64?
    @Option(name: .long, help: "Add a host device to the container") var device: [String] = []
    @Option(name: .long, help: "Ulimit options") var ulimit: [String] = []

    // Network, storage, logging (kept for berthd's networks and volumes)
    @Option(name: [.customShort("p"), .long], help: "Publish a container's port(s) to the host") var publish: [String] = []
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish all exposed ports to random ports") var publishAll = false
    @Option(name: .long, help: "Expose a port or a range of ports") var expose: [String] = []
    @Option(name: [.customLong("network"), .customLong("net")], help: "Connect a container to a network") var network: String?
    @Option(name: [.customLong("network-alias"), .customLong("net-alias")], help: "Add network-scoped alias for the container") var networkAlias: [String] = []
    @Option(name: .customLong("ip"), help: "IPv4 address (e.g., 172.30.100.104)") var ip: String?
    @Option(name: [.customShort("v"), .long], help: "Bind mount a volume") var volume: [String] = []
    @Option(name: .long, help: "Attach a filesystem mount to the container") var mount: [String] = []
    @Option(name: .customLong("volumes-from"), help: "Mount volumes from the specified container(s)") var volumesFrom: [String] = []
    @Option(name: .long, help: "Add link to another container") var link: [String] = []
    @Option(name: .customLong("add-host"), help: "Add a custom host-to-IP mapping (host:ip)") var addHost: [String] = []
    @Option(name: .long, help: "Set custom DNS servers") var dns: [String] = []
    @Option(name: .customLong("dns-search"), help: "Set custom DNS search domains") var dnsSearch: [String] = []
    @Option(name: [.customLong("dns-option"), .customLong("dns-opt")], help: "Set DNS options") var dnsOption: [String] = []
    @Option(name: .customLong("log-driver"), help: "Logging driver for the container") var logDriver: String?
    @Option(name: .customLong("log-opt"), help: "Log driver options") var logOpt: [String] = []

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("IMAGE [COMMAND] [ARG...]", valueName: "image"))
    var imageAndCommand: [String] = []

    var image: String { imageAndCommand.first ?? "" }
    var command: [String] { Array(imageAndCommand.dropFirst()) }

    /// The first input that is not an option must be the image.
    func checkImage(_ verb: String) throws {
        guard let first = imageAndCommand.first else {
            throw ValidationError("\"\(verb)\" requires at least 1 argument.")
        }
        if first.hasPrefix("-") && first.count > 1 {
            throw ValidationError("unknown flag: \(first.hasPrefix("--") ? first : String(first.prefix(2)))")
        }
    }

    /// The create request these flags describe. `attached`: `run` without
    /// -d (the streams are attached, stdin closes with the client's).
    func params(attached: Bool, cwd: String = CreateOptions.cwd()) throws(OptionError) -> BerthAPI.ContainerCreateParams {
        var config = BerthAPI.ContainerConfig()
        var host = BerthAPI.HostConfig()
        config.image = image
        config.hostname = hostname
        config.domainname = domainname
        config.user = user
        config.tty = tty
        config.openStdin = interactive
        config.stdinOnce = interactive && attached
        config.attachStdin = interactive && attached
        config.attachStdout = attached
        config.attachStderr = attached

        var environment: [String] = []
        for f in envFile {
            let text = try OptionError.wrap("--env-file", f) { () throws(OptionError) in try EnvFile.read(f) }
            environment += try OptionError.wrap("--env-file", f) { () throws(OptionError) in try EnvFile.parse(text, path: f) }
        }
        environment += env.compactMap { EnvFile.resolve($0) }
        if !environment.isEmpty { config.env = environment }
        if !command.isEmpty { config.cmd = command }
        // Docker: --entrypoint "" clears the image's entrypoint (sent as [""]).
        if let entrypoint { config.entrypoint = [entrypoint] }
        if let workdir {
            guard workdir.hasPrefix("/") else {
                throw OptionError("the working directory '\(workdir)' is invalid, it needs to be an absolute path")
            }
            config.workingDir = workdir
        }
        var labelItems: [String] = []
        for f in labelFile {
            let text = try OptionError.wrap("--label-file", f) { () throws(OptionError) in try EnvFile.read(f) }
            labelItems += try OptionError.wrap("--label-file", f) { () throws(OptionError) in try EnvFile.parse(text, path: f, labels: true) }
        }
        labelItems += label
        if !labelItems.isEmpty { config.labels = EnvFile.labels(labelItems) }
        config.stopSignal = stopSignal
        config.stopTimeout = stopTimeout

        if let restart {
            let policy = try OptionError.wrap("--restart", restart) { () throws(OptionError) in try RestartSpec.parse(restart) }
            if rm && policy.name != "no" { throw OptionError("Conflicting options: --restart and --rm") }
            host.restartPolicy = policy
        }
        if rm { host.autoRemove = true }
        if `init` { host.`init` = true }

        // Isolation and security
        if readOnly { host.readonlyRootfs = true }
        if privileged { host.privileged = true }
        if !capAdd.isEmpty { host.capAdd = capAdd }
        if !capDrop.isEmpty { host.capDrop = capDrop }
        if let pid {
            guard pid == "host" || pid.hasPrefix("container:") && pid.count > 10 || pid.isEmpty else { throw OptionError("--pid: invalid PID mode") }
            host.pidMode = pid
        }
        if let ipc {
            guard ["", "none", "private", "shareable", "host"].contains(ipc) || ipc.hasPrefix("container:") && ipc.count > 10 else {
                throw OptionError("--ipc: invalid IPC mode")
            }
            host.ipcMode = ipc
        }
        if let uts {
            guard uts == "host" || uts.isEmpty else { throw OptionError("--uts: invalid UTS mode") }
            host.utsMode = uts
        }
        if !securityOpt.isEmpty {
            host.securityOpt = securityOpt
            for opt in securityOpt {
                let (key, value) = CreateOptions.securityOption(opt)
                switch key {
                case "no-new-privileges", "label", "apparmor", "systempaths", "writable-cgroups", "mask", "unmask": break
                case "seccomp":
                    guard let value else { throw OptionError("Invalid --security-opt: \"\(opt)\"") }
                    if value != "unconfined" && value != "builtin" {
                        let path = value.hasPrefix("/") ? value : VolumeSpec.absolute(value, cwd: cwd)
                        do { host.seccompProfile = try EnvFile.read(path) } catch {
                            throw OptionError("opening seccomp profile (\(value)) failed: \(error.message.replacingPrefix("open \(path): ", with: ""))")
                        }
                    }
                default:
                    throw OptionError("Invalid --security-opt: \"\(opt)\"")
                }
            }
        }
        if let oomScoreAdj {
            guard (-1000...1000).contains(oomScoreAdj) else {
                throw OptionError("invalid value \(oomScoreAdj), range for oom score adj is [-1000, 1000]")
            }
            host.oomScoreAdj = oomScoreAdj
        }
        var tmpfsMap: [String: String] = [:]
        for t in tmpfs {
            let (path, opts) = try OptionError.wrap("--tmpfs", t) { () throws(OptionError) in try VolumeSpec.tmpfs(t) }
            tmpfsMap[path] = opts
        }

        // Resources
        if let memory { host.memory = try OptionError.wrap("-m, --memory", memory) { () throws(OptionError) in try ByteSize.parse(memory) } }
        if let memorySwap {
            host.memorySwap = try OptionError.wrap("--memory-swap", memorySwap) { () throws(OptionError) in try ByteSize.parseSwap(memorySwap) }
        }
        if let memoryReservation {
            host.memoryReservation = try OptionError.wrap("--memory-reservation", memoryReservation) { () throws(OptionError) in try ByteSize.parse(memoryReservation) }
        }
        if let cpus { host.nanoCpus = try OptionError.wrap("--cpus", cpus) { () throws(OptionError) in try ByteSize.nanoCPUs(cpus) } }
        if host.nanoCpus != nil && (cpuPeriod != nil || cpuQuota != nil) {
            throw OptionError("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        }
        host.cpuShares = cpuShares
        host.cpuPeriod = cpuPeriod
        host.cpuQuota = cpuQuota
        host.cpusetCpus = cpusetCpus
        host.cpusetMems = cpusetMems
        host.pidsLimit = pidsLimit
        if !device.isEmpty {
            host.devices = try device.map { d throws(OptionError) in try OptionError.wrap("--device", d) { () throws(OptionError) in try DeviceSpec.parse(d) } }
        }
        if !ulimit.isEmpty {
            host.ulimits = try ulimit.map { u throws(OptionError) in try OptionError.wrap("--ulimit", u) { () throws(OptionError) in try UlimitSpec.parse(u) } }
        }

        // Ports
        var exposed: [String: BerthAPI.EmptyObject] = [:]
        for e in expose {
            for p in try OptionError.wrap("--expose", e, { () throws(OptionError) in try PortSpec.expose(e) }) { exposed[p] = .init() }
        }
        var bindings: [String: [BerthAPI.PortBinding]] = [:]
        for spec in publish {
            for m in try OptionError.wrap("-p, --publish", spec, { () throws(OptionError) in try PortSpec.parse(spec) }) {
                bindings[m.port, default: []].append(m.binding)
                exposed[m.port] = .init()
            }
        }
        if !exposed.isEmpty { config.exposedPorts = exposed }
        if !bindings.isEmpty { host.portBindings = bindings }
        if publishAll { host.publishAllPorts = true }
        host.networkMode = network

        // Storage
        var binds: [String] = []
        var volumes: [String: BerthAPI.EmptyObject] = [:]
        var mounts: [BerthAPI.Mount] = []
        func place(_ t: VolumeSpec.Target) {
            switch t {
            case .bind(let b): binds.append(b)
            case .anonymous(let p): volumes[p] = .init()
            case let .tmpfs(p, o): tmpfsMap[p] = o
            case .mount(let m): mounts.append(m)
            }
        }
        for v in volume { place(try OptionError.wrap("-v, --volume", v) { () throws(OptionError) in try VolumeSpec.volume(v, cwd: cwd) }) }
        for m in mount { place(try OptionError.wrap("--mount", m) { () throws(OptionError) in try VolumeSpec.mount(m, cwd: cwd) }) }
        if !binds.isEmpty { host.binds = binds }
        if !mounts.isEmpty { host.mounts = mounts }
        if !volumes.isEmpty { config.volumes = volumes }
        if !tmpfsMap.isEmpty { host.tmpfs = tmpfsMap }
        if !volumesFrom.isEmpty { host.volumesFrom = volumesFrom }
        if !link.isEmpty { host.links = link }

        // Names and DNS
        var extraHosts: [String] = []
        for h in addHost {
            // host:ip or host=ip; the address may be IPv6 (with colons) or "host-gateway".
            let sep = h.firstIndex(where: { $0 == "=" || $0 == ":" })
            guard let sep, sep != h.startIndex else { throw OptionError.flag("--add-host", h, "bad format for add-host: \"\(h)\"") }
            let name = String(h[..<sep])
            var ip = String(h[h.index(after: sep)...])
            if ip.hasPrefix("[") && ip.hasSuffix("]") { ip = String(ip.dropFirst().dropLast()) }
            guard ip == "host-gateway" || PortSpec.isIPAddress(ip) else {
                throw OptionError.flag("--add-host", h, "invalid IP address in add-host: \"\(ip)\"")
            }
            extraHosts.append("\(name):\(ip)")
        }
        if !extraHosts.isEmpty { host.extraHosts = extraHosts }
        for d in dns where !PortSpec.isIPAddress(d) {
            throw OptionError.flag("--dns", d, "\(d) is not an ip address")
        }
        if !dns.isEmpty { host.dns = dns }
        if !dnsSearch.isEmpty { host.dnsSearch = dnsSearch }
        if !dnsOption.isEmpty { host.dnsOptions = dnsOption }

        // Logging
        if logDriver != nil || !logOpt.isEmpty {
            var cfg: [String: String] = [:]
            for o in logOpt {
                let kv = o.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard kv.count == 2, !kv[0].isEmpty else { throw OptionError.flag("--log-opt", o, "invalid key value pair format in log options") }
                let key = String(kv[0]), value = String(kv[1])
                switch key {
                case "max-size":
                    _ = try OptionError.wrap("--log-opt", o) { () throws(OptionError) in try ByteSize.parse(value) }
                case "max-file":
                    guard let n = Int(value), n >= 1 else { throw OptionError("invalid value for max-file: \(value)") }
                default: break
                }
                cfg[key] = value
            }
            let driver = logDriver ?? "json-file"
            guard ["json-file", "local", "none"].contains(driver) else {
                throw OptionError("logging driver \"\(driver)\" is not supported (json-file, local, none)")
            }
            host.logConfig = BerthAPI.LogConfig(type: driver, config: cfg)
        }

        // Docker's NetworkingConfig: the aliases and address on NetworkMode's network.
        var networking: BerthAPI.NetworkingConfig?
        if !networkAlias.isEmpty || ip != nil {
            let settings = BerthAPI.EndpointSettings(aliases: networkAlias.isEmpty ? nil : networkAlias,
                                                     ipamConfig: ip.map { BerthAPI.EndpointSettings.IPAMConfig(ipv4Address: $0) })
            networking = BerthAPI.NetworkingConfig(endpointsConfig: [network ?? "default": settings])
        }
        return BerthAPI.ContainerCreateParams(name: name, image: image, config: config, hostConfig: host, networkingConfig: networking)
    }

    /// "seccomp=/p" and "seccomp:/p" (the older form) → ("seccomp", "/p"); "no-new-privileges" → (…, nil).
    static func securityOption(_ opt: String) -> (String, String?) {
        guard let i = opt.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return (opt, nil) }
        return (String(opt[..<i]), String(opt[opt.index(after: i)...]))
    }

    static func cwd() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with other: String) -> String {
        hasPrefix(prefix) ? other + dropFirst(prefix.count) : self
    }
}
