import OCI

// The container methods (docs/berthd-api.md, Containers). Where Docker's
// Engine API has the same object, the field names are Docker's (PascalCase),
// so that `inspect` output and `--format` templates read as with Docker.

extension BerthMethod {
    /// `ContainerCreateParams` → `ContainerCreateResult`.
    public static let containerCreate: BerthMethod = "container.create"
    /// `ContainerRef` → `{}`. Starting a running container is a no-op.
    public static let containerStart: BerthMethod = "container.start"
    /// `ContainerStopParams` → `{}`: StopSignal, then SIGKILL after the timeout.
    public static let containerStop: BerthMethod = "container.stop"
    /// `ContainerStopParams` → `{}`: stop (if running), then start.
    public static let containerRestart: BerthMethod = "container.restart"
    /// `ContainerKillParams` → `{}`.
    public static let containerKill: BerthMethod = "container.kill"
    /// `ContainerRef` → `{}`.
    public static let containerPause: BerthMethod = "container.pause"
    /// `ContainerRef` → `{}`.
    public static let containerUnpause: BerthMethod = "container.unpause"
    /// `ContainerRemoveParams` → `{}`.
    public static let containerRemove: BerthMethod = "container.remove"
    /// `ContainerWaitParams` → `ContainerWaitResult`, answered when the condition holds.
    public static let containerWait: BerthMethod = "container.wait"
    /// `ContainerRenameParams` → `{}`.
    public static let containerRename: BerthMethod = "container.rename"
    /// `ContainerListParams` → `[ContainerSummary]` (`berth ps`).
    public static let containerList: BerthMethod = "container.list"
    /// `ContainerInspectParams` → Docker-shaped inspect object (JSON).
    public static let containerInspect: BerthMethod = "container.inspect"
    /// `ContainerLogsParams` → `{}` after streaming `log` notifications (`LogRecord`).
    public static let containerLogs: BerthMethod = "container.logs"
    /// `ContainerAttachParams` → `ContainerAttachResult`, streaming `output`
    /// notifications (`OutputChunk`); the client sends `stdin`, `stdin.close`
    /// and `resize` notifications naming the request (see StreamInput).
    public static let containerAttach: BerthMethod = "container.attach"
    /// `ContainerResizeParams` → `{}`: the init's terminal size.
    public static let containerResize: BerthMethod = "container.resize"
    /// `ExecCreateParams` → `ExecCreateResult`.
    public static let execCreate: BerthMethod = "exec.create"
    /// `ExecStartParams` → `ExecStartResult`; streams as attach unless detached.
    public static let execStart: BerthMethod = "exec.start"
    /// `ExecResizeParams` → `{}`.
    public static let execResize: BerthMethod = "exec.resize"
    /// `ExecRef` → `ExecInspect`.
    public static let execInspect: BerthMethod = "exec.inspect"
    /// `ContainerTopParams` → `ContainerTopResult`.
    public static let containerTop: BerthMethod = "container.top"
    /// `ContainerStatsParams` → `ContainerStats`; with `stream`, `stats`
    /// notifications (`ContainerStats`) every second until the client cancels.
    public static let containerStats: BerthMethod = "container.stats"
    /// `ContainerRef` → `[ContainerChange]` (`berth diff`).
    public static let containerDiff: BerthMethod = "container.diff"
    /// `ContainerCommitParams` → `ContainerCommitResult`.
    public static let containerCommit: BerthMethod = "container.commit"
    /// `ContainerExportParams` → `{}`: the filesystem as a tar written to `path`.
    public static let containerExport: BerthMethod = "container.export"
    /// `ArchiveGetParams` → `{}`: a path in the container as a tar written to `path` (`cp` out).
    public static let containerArchiveGet: BerthMethod = "container.archive.get"
    /// `ArchivePutParams` → `{}`: a tar read from `path` extracted into the container (`cp` in).
    public static let containerArchivePut: BerthMethod = "container.archive.put"
    /// `ContainerUpdateParams` → `{}`: resources of a container (and its running task).
    public static let containerUpdate: BerthMethod = "container.update"
    /// `ContainerRef` → `[PortMapping]`.
    public static let containerPort: BerthMethod = "container.port"
    /// `EventsParams` → `{}` after `until`; streams `event` notifications (`Event`).
    public static let systemEvents: BerthMethod = "system.events"
}

extension BerthAPI {
    /// Notification names of the container streams.
    public enum StreamNotification {
        /// berthd → client: a chunk of output (`OutputChunk`).
        public static let output = "output"
        /// berthd → client: one log record (`LogRecord`).
        public static let log = "log"
        /// berthd → client: one event (`Event`).
        public static let event = "event"
        /// berthd → client: one stats sample (`ContainerStats`).
        public static let stats = "stats"
        /// client → berthd: `{"request", "data"}` typed into the stream's stdin.
        public static let stdin = "stdin"
        /// client → berthd: `{"request"}` closes the stream's stdin (EOF).
        public static let stdinClose = "stdin.close"
        /// client → berthd: `{"request", "width", "height"}` the terminal's size.
        public static let resize = "resize"
    }

    // MARK: Create

    /// Docker's container Config: what the image says, overridden by the user.
    public struct ContainerConfig: Codable, Sendable, Equatable {
        public var hostname: String?
        public var domainname: String?
        public var user: String?
        public var attachStdin: Bool?
        public var attachStdout: Bool?
        public var attachStderr: Bool?
        /// `"80/tcp": {}`
        public var exposedPorts: [String: EmptyObject]?
        public var tty: Bool?
        public var openStdin: Bool?
        public var stdinOnce: Bool?
        /// NAME=VALUE
        public var env: [String]?
        public var cmd: [String]?
        public var image: String?
        public var volumes: [String: EmptyObject]?
        public var workingDir: String?
        public var entrypoint: [String]?
        public var labels: [String: String]?
        public var stopSignal: String?
        /// Seconds.
        public var stopTimeout: Int?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case hostname = "Hostname", domainname = "Domainname", user = "User"
            case attachStdin = "AttachStdin", attachStdout = "AttachStdout", attachStderr = "AttachStderr"
            case exposedPorts = "ExposedPorts", tty = "Tty", openStdin = "OpenStdin", stdinOnce = "StdinOnce"
            case env = "Env", cmd = "Cmd", image = "Image", volumes = "Volumes", workingDir = "WorkingDir"
            case entrypoint = "Entrypoint", labels = "Labels", stopSignal = "StopSignal", stopTimeout = "StopTimeout"
        }
    }

    /// `{}` in Docker's maps of ports and volumes.
    public struct EmptyObject: Codable, Sendable, Equatable, Hashable {
        public init() {}
        public init(from decoder: any Decoder) throws {}
        public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: NoKeys.self) }
        private enum NoKeys: CodingKey {}
    }

    public struct RestartPolicy: Codable, Sendable, Equatable {
        /// "" or "no", "always", "unless-stopped", "on-failure".
        public var name: String
        public var maximumRetryCount: Int
        public init(name: String = "no", maximumRetryCount: Int = 0) { self.name = name; self.maximumRetryCount = maximumRetryCount }
        enum CodingKeys: String, CodingKey { case name = "Name", maximumRetryCount = "MaximumRetryCount" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
            maximumRetryCount = try c.decodeIfPresent(Int.self, forKey: .maximumRetryCount) ?? 0
        }
    }

    public struct DeviceMapping: Codable, Sendable, Equatable {
        public var pathOnHost: String
        public var pathInContainer: String
        /// "rwm" and subsets.
        public var cgroupPermissions: String
        public init(pathOnHost: String, pathInContainer: String, cgroupPermissions: String = "rwm") {
            self.pathOnHost = pathOnHost; self.pathInContainer = pathInContainer; self.cgroupPermissions = cgroupPermissions
        }
        enum CodingKeys: String, CodingKey { case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            pathOnHost = try c.decode(String.self, forKey: .pathOnHost)
            pathInContainer = try c.decodeIfPresent(String.self, forKey: .pathInContainer) ?? pathOnHost
            cgroupPermissions = try c.decodeIfPresent(String.self, forKey: .cgroupPermissions) ?? "rwm"
        }
    }

    public struct Ulimit: Codable, Sendable, Equatable {
        /// "nofile", "nproc", … (without RLIMIT_).
        public var name: String
        public var soft: Int64
        public var hard: Int64
        public init(name: String, soft: Int64, hard: Int64) { self.name = name; self.soft = soft; self.hard = hard }
        enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
    }

    public struct PortBinding: Codable, Sendable, Equatable {
        public var hostIp: String
        public var hostPort: String
        public init(hostIp: String = "", hostPort: String = "") { self.hostIp = hostIp; self.hostPort = hostPort }
        enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            hostIp = try c.decodeIfPresent(String.self, forKey: .hostIp) ?? ""
            hostPort = try c.decodeIfPresent(String.self, forKey: .hostPort) ?? ""
        }
    }

    /// Docker's HostConfig: how this host runs the container.
    public struct HostConfig: Codable, Sendable, Equatable {
        /// `-v` as typed: "NAME:/path[:ro]", "/host:/path[:ro]" (issue 7).
        public var binds: [String]?
        /// "default", "none", "host", "container:NAME", a network name (issue 7).
        public var networkMode: String?
        /// "80/tcp": [{HostIp, HostPort}] (issue 7).
        public var portBindings: [String: [PortBinding]]?
        public var publishAllPorts: Bool?
        public var restartPolicy: RestartPolicy?
        /// `--rm`.
        public var autoRemove: Bool?
        public var capAdd: [String]?
        public var capDrop: [String]?
        /// "", "host", "container:NAME".
        public var pidMode: String?
        /// "", "private", "shareable", "host", "container:NAME", "none".
        public var ipcMode: String?
        /// "", "host".
        public var utsMode: String?
        public var privileged: Bool?
        public var readonlyRootfs: Bool?
        /// "seccomp=unconfined", "seccomp=/path/profile.json" (read by the CLI: see SeccompProfile), "no-new-privileges[:true]".
        public var securityOpt: [String]?
        /// The seccomp profile's JSON when `securityOpt` names a file (the CLI reads it).
        public var seccompProfile: String?
        /// "/path": "size=64m,mode=1777".
        public var tmpfs: [String: String]?
        public var oomScoreAdj: Int?
        /// Bytes; 0 = unlimited.
        public var memory: Int64?
        /// Bytes of memory + swap; -1 = unlimited swap; 0 = unset (twice `memory`).
        public var memorySwap: Int64?
        public var memoryReservation: Int64?
        /// CPUs × 10⁹ (`--cpus 1.5` = 1500000000).
        public var nanoCpus: Int64?
        public var cpuShares: Int64?
        public var cpuPeriod: Int64?
        public var cpuQuota: Int64?
        public var cpusetCpus: String?
        public var cpusetMems: String?
        /// ≤ 0: unlimited.
        public var pidsLimit: Int64?
        public var devices: [DeviceMapping]?
        public var ulimits: [Ulimit]?
        /// `--init`: a tiny reaping init as PID 1.
        public var `init`: Bool?
        /// `--link NAME[:ALIAS]` (issue 7).
        public var links: [String]?
        public var dns: [String]?
        public var dnsSearch: [String]?
        /// `--dns-option` (resolv.conf `options`).
        public var dnsOptions: [String]?
        /// "name:ip" (`--add-host`, issue 7).
        public var extraHosts: [String]?
        /// `--volumes-from CONTAINER[:ro|rw]`.
        public var volumesFrom: [String]?
        /// `--mount` (BerthAPI+Volumes.swift).
        public var mounts: [Mount]?
        /// Log options of the json-file log: max-size ("10m"), max-file ("3").
        public var logConfig: LogConfig?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case binds = "Binds", networkMode = "NetworkMode", portBindings = "PortBindings", publishAllPorts = "PublishAllPorts"
            case restartPolicy = "RestartPolicy", autoRemove = "AutoRemove", capAdd = "CapAdd", capDrop = "CapDrop"
            case pidMode = "PidMode", ipcMode = "IpcMode", utsMode = "UTSMode", privileged = "Privileged"
            case readonlyRootfs = "ReadonlyRootfs", securityOpt = "SecurityOpt", seccompProfile = "SeccompProfile", tmpfs = "Tmpfs"
            case oomScoreAdj = "OomScoreAdj", memory = "Memory", memorySwap = "MemorySwap", memoryReservation = "MemoryReservation"
            case nanoCpus = "NanoCpus", cpuShares = "CpuShares", cpuPeriod = "CpuPeriod", cpuQuota = "CpuQuota"
            case cpusetCpus = "CpusetCpus", cpusetMems = "CpusetMems", pidsLimit = "PidsLimit", devices = "Devices"
            case ulimits = "Ulimits", `init` = "Init", links = "Links", dns = "Dns", dnsSearch = "DnsSearch", dnsOptions = "DnsOptions"
            case extraHosts = "ExtraHosts", volumesFrom = "VolumesFrom", logConfig = "LogConfig"
            case mounts = "Mounts"
        }
    }

    public struct LogConfig: Codable, Sendable, Equatable {
        public var type: String
        public var config: [String: String]
        public init(type: String = "json-file", config: [String: String] = [:]) { self.type = type; self.config = config }
        enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
    }

    public struct ContainerCreateParams: Codable, Sendable, Equatable {
        /// `--name`; generated (adjective_surname) when absent.
        public var name: String?
        /// The image as the user typed it; it must be present (the CLI pulls first).
        public var image: String
        public var config: ContainerConfig
        public var hostConfig: HostConfig
        /// `--network-alias`, `--ip` for the network of NetworkMode (issue 7).
        public var networkingConfig: NetworkingConfig?
        public init(name: String? = nil, image: String, config: ContainerConfig = .init(), hostConfig: HostConfig = .init(),
                    networkingConfig: NetworkingConfig? = nil) {
            self.name = name; self.image = image; self.config = config; self.hostConfig = hostConfig
            self.networkingConfig = networkingConfig
        }
        enum CodingKeys: String, CodingKey { case name, image, config, hostConfig, networkingConfig }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            image = try c.decode(String.self, forKey: .image)
            config = try c.decodeIfPresent(ContainerConfig.self, forKey: .config) ?? .init()
            hostConfig = try c.decodeIfPresent(HostConfig.self, forKey: .hostConfig) ?? .init()
            networkingConfig = try c.decodeIfPresent(NetworkingConfig.self, forKey: .networkingConfig)
        }
    }

    public struct ContainerCreateResult: Codable, Sendable, Equatable {
        /// 64 hex characters.
        public var id: String
        public var warnings: [String]
        public init(id: String, warnings: [String] = []) { self.id = id; self.warnings = warnings }
    }

    // MARK: References and lifecycle

    /// A container: its full id, a unique prefix of it, or its name.
    public struct ContainerRef: Codable, Sendable, Equatable {
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct ContainerStopParams: Codable, Sendable, Equatable {
        public var id: String
        /// Seconds before SIGKILL; the container's StopTimeout (else 10) when absent; -1 waits forever.
        public var timeout: Int?
        public init(id: String, timeout: Int? = nil) { self.id = id; self.timeout = timeout }
    }

    public struct ContainerKillParams: Codable, Sendable, Equatable {
        public var id: String
        /// A name ("KILL", "SIGKILL") or number; SIGKILL when absent.
        public var signal: String?
        public init(id: String, signal: String? = nil) { self.id = id; self.signal = signal }
    }

    public struct ContainerRemoveParams: Codable, Sendable, Equatable {
        public var id: String
        /// Kill a running container first.
        public var force: Bool?
        /// Remove its anonymous volumes too.
        public var volumes: Bool?
        public init(id: String, force: Bool? = nil, volumes: Bool? = nil) { self.id = id; self.force = force; self.volumes = volumes }
    }

    public struct ContainerWaitParams: Codable, Sendable, Equatable {
        public var id: String
        /// "not-running" (default), "next-exit", "removed".
        public var condition: String?
        public init(id: String, condition: String? = nil) { self.id = id; self.condition = condition }
    }

    public struct ContainerWaitResult: Codable, Sendable, Equatable {
        public var statusCode: Int
        public var error: String?
        public init(statusCode: Int, error: String? = nil) { self.statusCode = statusCode; self.error = error }
        enum CodingKeys: String, CodingKey { case statusCode = "StatusCode", error = "Error" }
    }

    public struct ContainerRenameParams: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public init(id: String, name: String) { self.id = id; self.name = name }
    }

    // MARK: ps and inspect

    public struct ContainerListParams: Codable, Sendable, Equatable {
        /// Stopped ones too (`-a`).
        public var all: Bool?
        /// The n most recently created (`-n`), all states.
        public var limit: Int?
        /// Sizes (`-s`).
        public var size: Bool?
        /// status, name, label, ancestor, exited, id, before, since (`--filter`).
        public var filters: [String: [String]]?
        public init(all: Bool? = nil, limit: Int? = nil, size: Bool? = nil, filters: [String: [String]]? = nil) {
            self.all = all; self.limit = limit; self.size = size; self.filters = filters
        }
    }

    public struct PortSummary: Codable, Sendable, Equatable {
        public var ip: String?
        public var privatePort: Int
        public var publicPort: Int?
        public var type: String
        public init(ip: String? = nil, privatePort: Int, publicPort: Int? = nil, type: String = "tcp") {
            self.ip = ip; self.privatePort = privatePort; self.publicPort = publicPort; self.type = type
        }
        enum CodingKeys: String, CodingKey { case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type" }
    }

    /// One row of `ps`, as Docker's /containers/json.
    public struct ContainerSummary: Codable, Sendable, Equatable {
        public var id: String
        /// "/name".
        public var names: [String]
        /// As the user gave it.
        public var image: String
        public var imageID: String
        /// The command line, entrypoint and cmd joined.
        public var command: String
        /// Unix seconds.
        public var created: Int64
        /// created, running, paused, restarting, removing, exited, dead.
        public var state: String
        /// "Up 3 minutes", "Exited (0) 2 seconds ago", "Created", "Up 1 second (Paused)".
        public var status: String
        public var ports: [PortSummary]
        public var labels: [String: String]
        public var sizeRw: Int64?
        public var sizeRootFs: Int64?
        public var mounts: [MountPoint]?
        public init(id: String, names: [String], image: String, imageID: String, command: String, created: Int64,
                    state: String, status: String, ports: [PortSummary] = [], labels: [String: String] = [:],
                    sizeRw: Int64? = nil, sizeRootFs: Int64? = nil, mounts: [MountPoint]? = nil) {
            self.id = id; self.names = names; self.image = image; self.imageID = imageID; self.command = command
            self.created = created; self.state = state; self.status = status; self.ports = ports; self.labels = labels
            self.sizeRw = sizeRw; self.sizeRootFs = sizeRootFs; self.mounts = mounts
        }
        enum CodingKeys: String, CodingKey {
            case id = "Id", names = "Names", image = "Image", imageID = "ImageID", command = "Command", created = "Created"
            case state = "State", status = "Status", ports = "Ports", labels = "Labels", sizeRw = "SizeRw", sizeRootFs = "SizeRootFs"
            case mounts = "Mounts"
        }
    }

    public struct ContainerInspectParams: Codable, Sendable, Equatable {
        public var id: String
        /// SizeRw and SizeRootFs (`inspect -s`).
        public var size: Bool?
        public init(id: String, size: Bool? = nil) { self.id = id; self.size = size }
    }

    // MARK: Logs

    public struct ContainerLogsParams: Codable, Sendable, Equatable {
        public var id: String
        public var follow: Bool?
        public var stdout: Bool?
        public var stderr: Bool?
        /// Unix time in seconds with an optional fraction ("1700000000.5"), or RFC 3339; the CLI converts relative times ("10m").
        public var since: String?
        public var until: String?
        /// The last n records ("all" or absent: every record).
        public var tail: String?
        public init(id: String, follow: Bool? = nil, stdout: Bool? = nil, stderr: Bool? = nil,
                    since: String? = nil, until: String? = nil, tail: String? = nil) {
            self.id = id; self.follow = follow; self.stdout = stdout; self.stderr = stderr
            self.since = since; self.until = until; self.tail = tail
        }
    }

    /// A `log` notification: one record of the container's log.
    public struct LogRecord: Codable, Sendable, Equatable {
        /// "stdout" or "stderr".
        public var stream: String
        /// RFC 3339 with nanoseconds, UTC.
        public var time: String
        public var log: String
        public init(stream: String, time: String, log: String) { self.stream = stream; self.time = time; self.log = log }
    }

    // MARK: Attach and exec

    public struct ContainerAttachParams: Codable, Sendable, Equatable {
        public var id: String
        /// Relay the client's `stdin` notifications to the container's stdin (needs OpenStdin).
        public var stdin: Bool?
        /// Start the container once attached (`run` without -d, `start -a`): no output is missed.
        public var start: Bool?
        /// Also send what the log already holds (`attach --logs`); off by default.
        public var logs: Bool?
        /// The client's terminal size, for a container with a terminal (the
        /// CLI also sends `resize` once the stream is open; added by the CLI).
        public var width: Int?
        public var height: Int?
        public init(id: String, stdin: Bool? = nil, start: Bool? = nil, logs: Bool? = nil, width: Int? = nil, height: Int? = nil) {
            self.id = id; self.stdin = stdin; self.start = start; self.logs = logs; self.width = width; self.height = height
        }
    }

    /// An `output` notification.
    public struct OutputChunk: Codable, Sendable, Equatable {
        public var request: JSONValue?
        /// "stdout" or "stderr" (a terminal's output is "stdout").
        public var stream: String
        public var data: String
        public init(request: JSONValue? = nil, stream: String, data: String) { self.request = request; self.stream = stream; self.data = data }
    }

    public struct ContainerAttachResult: Codable, Sendable, Equatable {
        /// The process's exit status once it ended (absent if the stream ended otherwise).
        public var exitCode: Int?
        public init(exitCode: Int? = nil) { self.exitCode = exitCode }
    }

    public struct ContainerResizeParams: Codable, Sendable, Equatable {
        public var id: String
        public var width: Int
        public var height: Int
        public init(id: String, width: Int, height: Int) { self.id = id; self.width = width; self.height = height }
    }

    public struct ExecCreateParams: Codable, Sendable, Equatable {
        public var id: String
        public var cmd: [String]
        public var tty: Bool?
        /// Keep stdin open (`-i`).
        public var attachStdin: Bool?
        public var env: [String]?
        public var user: String?
        public var workingDir: String?
        public var privileged: Bool?
        public init(id: String, cmd: [String], tty: Bool? = nil, attachStdin: Bool? = nil, env: [String]? = nil,
                    user: String? = nil, workingDir: String? = nil, privileged: Bool? = nil) {
            self.id = id; self.cmd = cmd; self.tty = tty; self.attachStdin = attachStdin; self.env = env
            self.user = user; self.workingDir = workingDir; self.privileged = privileged
        }
    }

    public struct ExecCreateResult: Codable, Sendable, Equatable {
        public var execID: String
        public init(execID: String) { self.execID = execID }
    }

    public struct ExecStartParams: Codable, Sendable, Equatable {
        public var execID: String
        /// Answer once started, without streaming (`exec -d`).
        public var detach: Bool?
        /// Initial terminal size.
        public var width: Int?
        public var height: Int?
        public init(execID: String, detach: Bool? = nil, width: Int? = nil, height: Int? = nil) {
            self.execID = execID; self.detach = detach; self.width = width; self.height = height
        }
    }

    public struct ExecStartResult: Codable, Sendable, Equatable {
        /// Absent with `detach`.
        public var exitCode: Int?
        public init(exitCode: Int? = nil) { self.exitCode = exitCode }
    }

    public struct ExecResizeParams: Codable, Sendable, Equatable {
        public var execID: String
        public var width: Int
        public var height: Int
        public init(execID: String, width: Int, height: Int) { self.execID = execID; self.width = width; self.height = height }
    }

    public struct ExecRef: Codable, Sendable, Equatable {
        public var execID: String
        public init(execID: String) { self.execID = execID }
    }

    public struct ExecInspect: Codable, Sendable, Equatable {
        public var id: String
        public var containerID: String
        public var running: Bool
        public var exitCode: Int?
        public var pid: Int
        public init(id: String, containerID: String, running: Bool, exitCode: Int?, pid: Int) {
            self.id = id; self.containerID = containerID; self.running = running; self.exitCode = exitCode; self.pid = pid
        }
        enum CodingKeys: String, CodingKey { case id = "ID", containerID = "ContainerID", running = "Running", exitCode = "ExitCode", pid = "Pid" }
    }

    // MARK: Processes, stats, files

    public struct ContainerTopParams: Codable, Sendable, Equatable {
        public var id: String
        /// ps options ("-ef" when absent).
        public var psArgs: String?
        public init(id: String, psArgs: String? = nil) { self.id = id; self.psArgs = psArgs }
    }

    public struct ContainerTopResult: Codable, Sendable, Equatable {
        public var titles: [String]
        public var processes: [[String]]
        public init(titles: [String], processes: [[String]]) { self.titles = titles; self.processes = processes }
        enum CodingKeys: String, CodingKey { case titles = "Titles", processes = "Processes" }
    }

    public struct ContainerStatsParams: Codable, Sendable, Equatable {
        public var id: String
        public var stream: Bool?
        public init(id: String, stream: Bool? = nil) { self.id = id; self.stream = stream }
    }

    /// One stats sample: what `berth stats` prints.
    public struct ContainerStats: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// RFC 3339.
        public var read: String
        /// Nanoseconds of CPU used by the container, and by the host (for the percentage).
        public var cpuTotal: UInt64
        public var systemCPU: UInt64
        public var onlineCPUs: Int
        public var memoryUsage: UInt64
        public var memoryLimit: UInt64
        public var pids: UInt64
        public var blockRead: UInt64
        public var blockWrite: UInt64
        public var netRx: UInt64
        public var netTx: UInt64
        public init(id: String, name: String, read: String, cpuTotal: UInt64, systemCPU: UInt64, onlineCPUs: Int,
                    memoryUsage: UInt64, memoryLimit: UInt64, pids: UInt64, blockRead: UInt64, blockWrite: UInt64,
                    netRx: UInt64 = 0, netTx: UInt64 = 0) {
            self.id = id; self.name = name; self.read = read; self.cpuTotal = cpuTotal; self.systemCPU = systemCPU
            self.onlineCPUs = onlineCPUs; self.memoryUsage = memoryUsage; self.memoryLimit = memoryLimit; self.pids = pids
            self.blockRead = blockRead; self.blockWrite = blockWrite; self.netRx = netRx; self.netTx = netTx
        }
    }

    /// One line of `diff`: Kind 0 = C (changed), 1 = A (added), 2 = D (deleted), as Docker.
    public struct ContainerChange: Codable, Sendable, Equatable {
        public var path: String
        public var kind: Int
        public init(path: String, kind: Int) { self.path = path; self.kind = kind }
        enum CodingKeys: String, CodingKey { case path = "Path", kind = "Kind" }
    }

    public struct ContainerCommitParams: Codable, Sendable, Equatable {
        public var id: String
        /// REPOSITORY[:TAG]; a dangling image when absent.
        public var reference: String?
        public var comment: String?
        public var author: String?
        /// Dockerfile instructions (`-c`): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL.
        public var changes: [String]?
        /// Pause the container while committing (default true).
        public var pause: Bool?
        public init(id: String, reference: String? = nil, comment: String? = nil, author: String? = nil,
                    changes: [String]? = nil, pause: Bool? = nil) {
            self.id = id; self.reference = reference; self.comment = comment; self.author = author
            self.changes = changes; self.pause = pause
        }
    }

    public struct ContainerCommitResult: Codable, Sendable, Equatable {
        /// sha256:… of the new image's config.
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct ContainerExportParams: Codable, Sendable, Equatable {
        public var id: String
        /// Absolute path (a file or a FIFO the CLI reads) the tar is written to.
        public var path: String
        public init(id: String, path: String) { self.id = id; self.path = path }
    }

    public struct ArchiveGetParams: Codable, Sendable, Equatable {
        public var id: String
        /// The path inside the container.
        public var source: String
        /// Absolute host path (file or FIFO) the tar is written to; its top entry is the source's base name.
        public var path: String
        public init(id: String, source: String, path: String) { self.id = id; self.source = source; self.path = path }
    }

    public struct ArchivePutParams: Codable, Sendable, Equatable {
        public var id: String
        /// The directory inside the container the tar is extracted into.
        public var destination: String
        /// Absolute host path (file or FIFO) the tar is read from.
        public var path: String
        public init(id: String, destination: String, path: String) { self.id = id; self.destination = destination; self.path = path }
    }

    public struct ContainerUpdateParams: Codable, Sendable, Equatable {
        public var id: String
        public var memory: Int64?
        public var memorySwap: Int64?
        public var memoryReservation: Int64?
        public var nanoCpus: Int64?
        public var cpuShares: Int64?
        public var cpuPeriod: Int64?
        public var cpuQuota: Int64?
        public var cpusetCpus: String?
        public var cpusetMems: String?
        public var pidsLimit: Int64?
        public var restartPolicy: RestartPolicy?
        public init(id: String) { self.id = id }
    }

    public struct PortMapping: Codable, Sendable, Equatable {
        /// "80/tcp".
        public var containerPort: String
        public var hostIp: String
        public var hostPort: String
        public init(containerPort: String, hostIp: String, hostPort: String) {
            self.containerPort = containerPort; self.hostIp = hostIp; self.hostPort = hostPort
        }
    }

    // MARK: Events

    public struct EventsParams: Codable, Sendable, Equatable {
        /// Unix seconds (with fraction) or RFC 3339; the CLI converts relative times.
        public var since: String?
        public var until: String?
        /// container, image, event, type, label (`--filter`).
        public var filters: [String: [String]]?
        public init(since: String? = nil, until: String? = nil, filters: [String: [String]]? = nil) {
            self.since = since; self.until = until; self.filters = filters
        }
    }

    /// An `event` notification, as Docker's /events.
    public struct Event: Codable, Sendable, Equatable {
        /// "container", "image", "network", "volume".
        public var type: String
        /// create, start, die, stop, kill, destroy, pause, unpause, rename, restart, exec_create, exec_start, exec_die, oom, …
        public var action: String
        public var actor: Actor
        /// Unix seconds and nanoseconds.
        public var time: Int64
        public var timeNano: Int64
        public init(type: String, action: String, actor: Actor, time: Int64, timeNano: Int64) {
            self.type = type; self.action = action; self.actor = actor; self.time = time; self.timeNano = timeNano
        }
        enum CodingKeys: String, CodingKey { case type = "Type", action = "Action", actor = "Actor", time, timeNano }

        public struct Actor: Codable, Sendable, Equatable {
            public var id: String
            /// name, image, exitCode, signal, execID, …, and the container's labels.
            public var attributes: [String: String]
            public init(id: String, attributes: [String: String]) { self.id = id; self.attributes = attributes }
            enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
        }
    }
}
