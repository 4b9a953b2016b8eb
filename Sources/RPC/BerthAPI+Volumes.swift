import OCI

extension BerthMethod {
    /// `VolumeCreateParams` → `Volume`.
    public static let volumeCreate: BerthMethod = "volume.create"
    /// `VolumeListParams` → `VolumeListResult`.
    public static let volumeList: BerthMethod = "volume.list"
    /// `VolumeRef` → `Volume`.
    public static let volumeInspect: BerthMethod = "volume.inspect"
    /// `VolumeRemoveParams` → `{}`.
    public static let volumeRemove: BerthMethod = "volume.remove"
    /// `VolumePruneParams` → `VolumePruneResult`.
    public static let volumePrune: BerthMethod = "volume.prune"
}

extension BerthAPI {
    /// Docker's volume object (`docker volume inspect`), its keys in Docker's (alphabetical) order.
    public struct Volume: Codable, Sendable, Equatable {
        /// RFC 3339, seconds.
        public var createdAt: String
        /// Always "local".
        public var driver: String
        public var labels: [String: String]?
        /// `<root>/volumes/NAME/_data`.
        public var mountpoint: String
        public var name: String
        /// The driver options (`type`, `device`, `o`).
        public var options: [String: String]?
        /// Always "local".
        public var scope: String
        public init(createdAt: String, driver: String = "local", labels: [String: String]?, mountpoint: String, name: String,
                    options: [String: String]?, scope: String = "local") {
            self.createdAt = createdAt; self.driver = driver; self.labels = labels; self.mountpoint = mountpoint
            self.name = name; self.options = options; self.scope = scope
        }
        enum CodingKeys: String, CodingKey {
            case createdAt = "CreatedAt", driver = "Driver", labels = "Labels", mountpoint = "Mountpoint", name = "Name"
            case options = "Options", scope = "Scope"
        }
        // Docker prints `"Labels": null` and `"Options": null` rather than leaving them out.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(driver, forKey: .driver)
            if let labels { try c.encode(labels, forKey: .labels) } else { try c.encodeNil(forKey: .labels) }
            try c.encode(mountpoint, forKey: .mountpoint)
            try c.encode(name, forKey: .name)
            if let options { try c.encode(options, forKey: .options) } else { try c.encodeNil(forKey: .options) }
            try c.encode(scope, forKey: .scope)
        }
    }

    public struct VolumeCreateParams: Codable, Sendable, Equatable {
        /// Empty or absent: an anonymous volume (64 hex characters).
        public var name: String?
        /// Only "local" (the default).
        public var driver: String?
        /// `type`, `device`, `o` (mount(8)'s -t, the source and -o).
        public var driverOpts: [String: String]?
        public var labels: [String: String]?
        public init(name: String? = nil, driver: String? = nil, driverOpts: [String: String]? = nil, labels: [String: String]? = nil) {
            self.name = name; self.driver = driver; self.driverOpts = driverOpts; self.labels = labels
        }
    }

    public struct VolumeRef: Codable, Sendable, Equatable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public struct VolumeListParams: Codable, Sendable, Equatable {
        /// dangling, name, label, driver.
        public var filters: [String: [String]]?
        public init(filters: [String: [String]]? = nil) { self.filters = filters }
    }

    public struct VolumeListResult: Codable, Sendable, Equatable {
        public var volumes: [Volume]
        public var warnings: [String]
        public init(volumes: [Volume], warnings: [String] = []) { self.volumes = volumes; self.warnings = warnings }
        enum CodingKeys: String, CodingKey { case volumes = "Volumes", warnings = "Warnings" }
    }

    public struct VolumeRemoveParams: Codable, Sendable, Equatable {
        public var name: String
        /// A missing volume is not an error (Docker's `volume rm -f`); a used one still is.
        public var force: Bool?
        public init(name: String, force: Bool? = nil) { self.name = name; self.force = force }
    }

    public struct VolumePruneParams: Codable, Sendable, Equatable {
        /// `all=true` (named volumes too), label, label!.
        public var filters: [String: [String]]?
        public init(filters: [String: [String]]? = nil) { self.filters = filters }
    }

    public struct VolumePruneResult: Codable, Sendable, Equatable {
        public var volumesDeleted: [String]
        public var spaceReclaimed: Int64
        public init(volumesDeleted: [String], spaceReclaimed: Int64) { self.volumesDeleted = volumesDeleted; self.spaceReclaimed = spaceReclaimed }
        enum CodingKeys: String, CodingKey { case volumesDeleted = "VolumesDeleted", spaceReclaimed = "SpaceReclaimed" }
    }

    /// `--mount` in Docker's HostConfig.Mounts shape.
    public struct Mount: Codable, Sendable, Equatable {
        /// "bind", "volume" or "tmpfs".
        public var type: String
        /// The host path (bind) or the volume's name (volume; empty: anonymous).
        public var source: String?
        public var target: String
        public var readOnly: Bool?
        public var bindOptions: BindOptions?
        public var volumeOptions: VolumeOptions?
        public var tmpfsOptions: TmpfsOptions?
        public init(type: String, source: String? = nil, target: String, readOnly: Bool? = nil, bindOptions: BindOptions? = nil,
                    volumeOptions: VolumeOptions? = nil, tmpfsOptions: TmpfsOptions? = nil) {
            self.type = type; self.source = source; self.target = target; self.readOnly = readOnly
            self.bindOptions = bindOptions; self.volumeOptions = volumeOptions; self.tmpfsOptions = tmpfsOptions
        }
        enum CodingKeys: String, CodingKey {
            case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", bindOptions = "BindOptions"
            case volumeOptions = "VolumeOptions", tmpfsOptions = "TmpfsOptions"
        }

        public struct BindOptions: Codable, Sendable, Equatable {
            public var propagation: String?
            public init(propagation: String? = nil) { self.propagation = propagation }
            enum CodingKeys: String, CodingKey { case propagation = "Propagation" }
        }
        public struct VolumeOptions: Codable, Sendable, Equatable {
            public var noCopy: Bool?
            public var labels: [String: String]?
            public var driverConfig: DriverConfig?
            public init(noCopy: Bool? = nil, labels: [String: String]? = nil, driverConfig: DriverConfig? = nil) {
                self.noCopy = noCopy; self.labels = labels; self.driverConfig = driverConfig
            }
            enum CodingKeys: String, CodingKey { case noCopy = "NoCopy", labels = "Labels", driverConfig = "DriverConfig" }
        }
        public struct DriverConfig: Codable, Sendable, Equatable {
            public var name: String?
            public var options: [String: String]?
            public init(name: String? = nil, options: [String: String]? = nil) { self.name = name; self.options = options }
            enum CodingKeys: String, CodingKey { case name = "Name", options = "Options" }
        }
        public struct TmpfsOptions: Codable, Sendable, Equatable {
            public var sizeBytes: Int64?
            /// The octal mode as a number (Docker's os.FileMode).
            public var mode: UInt32?
            public init(sizeBytes: Int64? = nil, mode: UInt32? = nil) { self.sizeBytes = sizeBytes; self.mode = mode }
            enum CodingKeys: String, CodingKey { case sizeBytes = "SizeBytes", mode = "Mode" }
        }
    }

    /// One entry of a container's `Mounts` (inspect, list): Docker's MountPoint.
    public struct MountPoint: Codable, Sendable, Equatable {
        /// "volume", "bind" or "tmpfs".
        public var type: String
        /// The volume's name (volumes only).
        public var name: String?
        public var source: String
        public var destination: String
        /// "local" (volumes only).
        public var driver: String?
        /// As given with -v ("ro", "z", …); empty otherwise.
        public var mode: String
        public var rw: Bool
        public var propagation: String
        public init(type: String, name: String?, source: String, destination: String, driver: String?, mode: String, rw: Bool,
                    propagation: String) {
            self.type = type; self.name = name; self.source = source; self.destination = destination; self.driver = driver
            self.mode = mode; self.rw = rw; self.propagation = propagation
        }
        enum CodingKeys: String, CodingKey {
            case type = "Type", name = "Name", source = "Source", destination = "Destination", driver = "Driver"
            case mode = "Mode", rw = "RW", propagation = "Propagation"
        }
    }
}

extension BerthAPI {
    /// Docker's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    public static func isValidVolumeName(_ s: String) -> Bool {
        guard let f = s.first, f.isASCII, f.isLetter || f.isNumber, s.count >= 2 else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}
