/// The OCI runtime-spec configuration (config.json), version 1.0–1.2.
/// Every field of config.md and config-linux.md is decoded, so that the runtime
/// can refuse a field it does not implement by name instead of ignoring it.
/// Fields whose inner shape the runtime never reads (vendor extensions) stay JSONValue.
public struct Spec: Decodable, Sendable {
    public var ociVersion: String
    public var root: Root?
    public var mounts: [Mount]?
    public var process: Process?
    public var hostname: String?
    public var domainname: String?
    public var hooks: Hooks?
    public var annotations: [String: String]?
    public var linux: Linux?
    public var solaris: JSONValue?
    public var windows: JSONValue?
    public var vm: JSONValue?
    public var zos: JSONValue?
}

public struct Root: Decodable, Sendable {
    public var path: String
    public var readonly: Bool?
}

public struct Mount: Decodable, Sendable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
}

public struct Process: Decodable, Sendable {
    public var terminal: Bool?
    public var consoleSize: ConsoleSize?
    public var user: User
    public var args: [String]?
    public var commandLine: String?
    public var env: [String]?
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit]?
    public var noNewPrivileges: Bool?
    public var apparmorProfile: String?
    public var oomScoreAdj: Int?
    public var selinuxLabel: String?
    public var ioPriority: IOPriority?
    public var scheduler: Scheduler?
    public var execCPUAffinity: CPUAffinity?

    public init(user: User, args: [String], env: [String], cwd: String) {
        self.user = user
        self.args = args
        self.env = env
        self.cwd = cwd
    }
}

public struct ConsoleSize: Decodable, Sendable {
    public var height: UInt32
    public var width: UInt32
}

public struct User: Decodable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?
    public var username: String?

    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32]? = nil) {
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
    }
}

public struct Capabilities: Decodable, Sendable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?
    public init() {}
}

public struct Rlimit: Decodable, Sendable {
    public var type: String
    public var hard: UInt64
    public var soft: UInt64
}

public struct Hook: Decodable, Sendable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    public var timeout: Int?
}

public struct Hooks: Decodable, Sendable {
    public var prestart: [Hook]?
    public var createRuntime: [Hook]?
    public var createContainer: [Hook]?
    public var startContainer: [Hook]?
    public var poststart: [Hook]?
    public var poststop: [Hook]?
}

public struct IDMapping: Decodable, Sendable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32
}

public struct Linux: Decodable, Sendable {
    public var namespaces: [Namespace]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public var timeOffsets: [String: TimeOffset]?
    public var devices: [Device]?
    public var netDevices: [String: NetDevice]?
    public var cgroupsPath: String?
    public var resources: Resources?
    public var rootfsPropagation: String?
    public var seccomp: Seccomp?
    public var sysctl: [String: String]?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var mountLabel: String?
    public var personality: Personality?
    public var intelRdt: JSONValue?
    public var memoryPolicy: JSONValue?
}

public struct Namespace: Decodable, Sendable {
    public var type: String
    public var path: String?
}

public struct TimeOffset: Decodable, Sendable {
    public var secs: Int64?
    public var nanosecs: UInt32?
}

public struct Device: Decodable, Sendable {
    public var type: String
    public var path: String
    public var major: Int64?
    public var minor: Int64?
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
}

public struct NetDevice: Decodable, Sendable {
    public var name: String?
}

public struct Personality: Decodable, Sendable {
    public var domain: String
    public var flags: [String]?
}

public struct Resources: Decodable, Sendable {
    public var devices: [DeviceRule]?
    public var memory: Memory?
    public var cpu: CPU?
    public var pids: Pids?
    public var blockIO: JSONValue?
    public var hugepageLimits: [HugepageLimit]?
    public var network: JSONValue?
    public var rdma: [String: RDMALimit]?
    public var unified: [String: String]?

    public struct DeviceRule: Decodable, Sendable {
        public var allow: Bool
        public var type: String?
        public var major: Int64?
        public var minor: Int64?
        public var access: String?

        public init(allow: Bool, type: String?, major: Int64?, minor: Int64?, access: String?) {
            self.allow = allow; self.type = type; self.major = major; self.minor = minor; self.access = access
        }
    }

    public struct Memory: Decodable, Sendable {
        public var limit: Int64?
        public var reservation: Int64?
        public var swap: Int64?
        public var kernel: Int64?
        public var kernelTCP: Int64?
        public var swappiness: UInt64?
        public var disableOOMKiller: Bool?
        public var useHierarchy: Bool?
        public var checkBeforeUpdate: Bool?
    }

    public struct CPU: Decodable, Sendable {
        public var shares: UInt64?
        public var quota: Int64?
        public var burst: UInt64?
        public var period: UInt64?
        public var realtimeRuntime: Int64?
        public var realtimePeriod: UInt64?
        public var cpus: String?
        public var mems: String?
        public var idle: Int64?
    }

    public struct Pids: Decodable, Sendable {
        public var limit: Int64
    }

    public struct HugepageLimit: Decodable, Sendable {
        public var pageSize: String
        public var limit: UInt64
    }

    public struct RDMALimit: Decodable, Sendable {
        public var hcaHandles: UInt32?
        public var hcaObjects: UInt32?
    }
}

/// linux.seccomp (config-linux.md#seccomp).
public struct Seccomp: Decodable, Sendable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var flags: [String]?
    public var listenerPath: String?
    public var listenerMetadata: String?
    public var syscalls: [Syscall]?

    public struct Syscall: Decodable, Sendable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [Arg]?
    }

    public struct Arg: Decodable, Sendable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String
    }
}

public struct IOPriority: Decodable, Sendable {
    public var `class`: String
    public var priority: Int32?
}

public struct Scheduler: Decodable, Sendable {
    public var policy: String
    public var nice: Int32?
    public var priority: Int32?
    public var flags: [String]?
    public var runtime: UInt64?
    public var deadline: UInt64?
    public var period: UInt64?
}

public struct CPUAffinity: Decodable, Sendable {
    public var initial: String?
    public var final: String?
}
