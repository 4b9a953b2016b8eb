/// The OCI image configuration (also Docker's `container.image.v1`): what runs and how the
/// root filesystem is built. Fields unknown to Berth are not kept; the config's digest is
/// always computed over the bytes as stored, never over a re-encoding.
public struct ImageConfig: Codable, Sendable, Hashable {
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var config: Config?
    public var rootfs: RootFS
    public var history: [History]?

    enum CodingKeys: String, CodingKey {
        case created, author, architecture, os, variant, config, rootfs, history
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(platform: Platform = .host, config: Config? = nil, diffIDs: [Digest], history: [History]? = nil, created: String? = nil) {
        self.architecture = platform.architecture
        self.os = platform.os
        self.variant = platform.variant
        self.config = config
        self.rootfs = RootFS(diffIDs: diffIDs)
        self.history = history
        self.created = created
    }

    public var platform: Platform {
        Platform(os: os, architecture: architecture, variant: variant, osVersion: osVersion, osFeatures: osFeatures)
    }

    /// The execution parameters (`config` in the JSON, Docker's capitalised keys).
    public struct Config: Codable, Sendable, Hashable {
        public var user: String?
        public var exposedPorts: [String: Empty]?
        public var env: [String]?
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var volumes: [String: Empty]?
        public var workingDir: String?
        public var labels: [String: String]?
        public var stopSignal: String?
        public var argsEscaped: Bool?
        public var onBuild: [String]?
        public var shell: [String]?
        public var healthcheck: Healthcheck?

        enum CodingKeys: String, CodingKey {
            case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint"
            case cmd = "Cmd", volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels"
            case stopSignal = "StopSignal", argsEscaped = "ArgsEscaped", onBuild = "OnBuild"
            case shell = "Shell", healthcheck = "Healthcheck"
        }

        public init(user: String? = nil, env: [String]? = nil, entrypoint: [String]? = nil, cmd: [String]? = nil,
                    workingDir: String? = nil, labels: [String: String]? = nil, stopSignal: String? = nil,
                    exposedPorts: [String: Empty]? = nil, volumes: [String: Empty]? = nil) {
            self.user = user
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.workingDir = workingDir
            self.labels = labels
            self.stopSignal = stopSignal
            self.exposedPorts = exposedPorts
            self.volumes = volumes
        }
    }

    /// Docker's healthcheck (not in the OCI spec, kept because Docker images carry it).
    public struct Healthcheck: Codable, Sendable, Hashable {
        public var test: [String]?
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?
        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
            case startInterval = "StartInterval", retries = "Retries"
        }
    }

    /// The JSON `{}` that ExposedPorts and Volumes map to.
    public struct Empty: Codable, Sendable, Hashable {
        public init() {}
    }

    public struct RootFS: Codable, Sendable, Hashable {
        public var type: String
        public var diffIDs: [Digest]
        enum CodingKeys: String, CodingKey { case type, diffIDs = "diff_ids" }
        public init(diffIDs: [Digest]) { self.type = "layers"; self.diffIDs = diffIDs }
    }

    /// One build step; `emptyLayer` steps (ENV, CMD…) made no layer.
    public struct History: Codable, Sendable, Hashable {
        public var created: String?
        public var createdBy: String?
        public var author: String?
        public var comment: String?
        public var emptyLayer: Bool?
        enum CodingKeys: String, CodingKey {
            case created, author, comment
            case createdBy = "created_by", emptyLayer = "empty_layer"
        }
        public init(created: String? = nil, createdBy: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
            self.created = created
            self.createdBy = createdBy
            self.comment = comment
            self.emptyLayer = emptyLayer
        }
    }
}
