import OCI
import Synchronization

/// The OCI runtime-spec config.json that SpecBuilder writes: only the fields a
/// Docker-style container uses, Encodable (OCI's `Spec` is the runtime's lean,
/// Decodable-only model). nil fields are left out of the JSON; the field names
/// and order are the spec's (config.md, config-linux.md).
public struct RuntimeConfig: Encodable, Sendable, Equatable {
    public var ociVersion = "1.2.0"
    public var process: Process
    public var root: Root
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]
    public var linux: Linux

    /// config.json text, indented as runc's `spec` writes it.
    public func json(indent: Bool = true) throws -> String {
        try JSONValueEncoder().encodeText(self, indent: indent)
    }

    public struct Root: Encodable, Sendable, Equatable {
        public init(path: String, readonly: Bool? = nil) { self.path = path; self.readonly = readonly }
        public var path: String
        public var readonly: Bool?
    }

    public struct Process: Encodable, Sendable, Equatable {
        public var terminal: Bool?
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]?
        public var noNewPrivileges: Bool?
        public var apparmorProfile: String?
        public var oomScoreAdj: Int?
    }

    public struct User: Encodable, Sendable, Equatable {
        public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32]? = nil) { self.uid = uid; self.gid = gid; self.additionalGids = additionalGids }
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
    }

    public struct Capabilities: Encodable, Sendable, Equatable {
        public init(bounding: [String], effective: [String], permitted: [String]) { self.bounding = bounding; self.effective = effective; self.permitted = permitted }
        public var bounding: [String]
        public var effective: [String]
        public var permitted: [String]
    }

    public struct Rlimit: Encodable, Sendable, Equatable {
        public init(type: String, hard: UInt64, soft: UInt64) { self.type = type; self.hard = hard; self.soft = soft }
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
    }

    public struct Mount: Encodable, Sendable, Equatable {
        public var destination: String
        public var type: String?
        public var source: String?
        public var options: [String]?

        public init(destination: String, type: String?, source: String?, options: [String]?) {
            self.destination = destination; self.type = type; self.source = source; self.options = options
        }
    }

    public struct Linux: Encodable, Sendable, Equatable {
        public var sysctl: [String: String]?
        public var resources: Resources
        public var cgroupsPath: String
        public var namespaces: [Namespace]
        public var devices: [Device]?
        public var seccomp: Seccomp?
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
    }

    public struct Namespace: Encodable, Sendable, Equatable {
        public init(type: String, path: String? = nil) { self.type = type; self.path = path }
        /// mount, pid, ipc, uts, network, cgroup.
        public var type: String
        public var path: String?
    }

    public struct Device: Encodable, Sendable, Equatable {
        public init(type: String, path: String, major: Int64, minor: Int64, fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
            self.type = type; self.path = path; self.major = major; self.minor = minor; self.fileMode = fileMode; self.uid = uid; self.gid = gid
        }
        /// "c", "b", "p".
        public var type: String
        public var path: String
        public var major: Int64
        public var minor: Int64
        public var fileMode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?
    }

    public struct Resources: Encodable, Sendable, Equatable {
        public var devices: [DeviceRule]
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
    }

    public struct DeviceRule: Encodable, Sendable, Equatable {
        public var allow: Bool
        public var type: String?
        public var major: Int64?
        public var minor: Int64?
        public var access: String?

        public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = "rwm") {
            self.allow = allow; self.type = type; self.major = major; self.minor = minor; self.access = access
        }
    }

    public struct Memory: Encodable, Sendable, Equatable {
        public init(limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil) { self.limit = limit; self.reservation = reservation; self.swap = swap }
        public var limit: Int64?
        public var reservation: Int64?
        public var swap: Int64?
    }

    public struct CPU: Encodable, Sendable, Equatable {
        public init() {}
        public var shares: UInt64?
        public var quota: Int64?
        public var period: UInt64?
        public var cpus: String?
        public var mems: String?
    }

    public struct Pids: Encodable, Sendable, Equatable {
        public init(limit: Int64) { self.limit = limit }
        public var limit: Int64
    }

    /// linux.seccomp, already filtered for this container (caps, arch, kernel).
    public struct Seccomp: Encodable, Sendable, Equatable {
        public var defaultAction: String
        public var defaultErrnoRet: UInt32?
        public var architectures: [String]?
        public var flags: [String]?
        public var listenerPath: String?
        public var listenerMetadata: String?
        public var syscalls: [Syscall]

        /// Docker's default profile is some 300 rules, the bulk of config.json, and
        /// nearly every container has the same one: the last tree encoded is kept
        /// and reused when the next container's profile is equal (comparing costs a
        /// tenth of encoding; about 0.5 ms of each start went here).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(try Seccomp.tree(self))
        }

        private static let last = Mutex<(Seccomp, JSONValue)?>(nil)

        static func tree(_ s: Seccomp) throws -> JSONValue {
            if let hit = last.withLock({ $0 }), hit.0 == s { return hit.1 }
            let tree = try JSONValueEncoder().encode(Fields(s))
            last.withLock { $0 = (s, tree) }
            return tree
        }

        /// The fields in the spec's order, encoded as they are.
        private struct Fields: Encodable {
            var defaultAction: String
            var defaultErrnoRet: UInt32?
            var architectures: [String]?
            var flags: [String]?
            var listenerPath: String?
            var listenerMetadata: String?
            var syscalls: [Syscall]
            init(_ s: Seccomp) {
                defaultAction = s.defaultAction; defaultErrnoRet = s.defaultErrnoRet; architectures = s.architectures
                flags = s.flags; listenerPath = s.listenerPath; listenerMetadata = s.listenerMetadata; syscalls = s.syscalls
            }
        }

        public struct Syscall: Encodable, Sendable, Equatable {
            public var names: [String]
            public var action: String
            public var errnoRet: UInt32?
            public var args: [Arg]?
        }

        public struct Arg: Encodable, Sendable, Equatable {
            public init(index: UInt32, value: UInt64, valueTwo: UInt64? = nil, op: String) { self.index = index; self.value = value; self.valueTwo = valueTwo; self.op = op }
            public var index: UInt32
            public var value: UInt64
            public var valueTwo: UInt64?
            public var op: String
        }
    }
}
