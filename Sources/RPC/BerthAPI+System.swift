import OCI

/// Params and results of the built-in methods: hello, version, info.
extension BerthAPI {
    public struct HelloParams: Codable, Sendable, Equatable {
        /// The API version the client wants to speak.
        public var version: Int
        /// Who is calling, for berthd's log ("berth 0.1.0").
        public var client: String?
        public init(version: Int = BerthAPI.version, client: String? = nil) { self.version = version; self.client = client }
    }

    public struct HelloResult: Codable, Sendable, Equatable {
        /// The version berthd will speak on this connection.
        public var version: Int
        public var server: String
        /// Every method this berthd serves, sorted.
        public var methods: [String]
        public init(version: Int, server: String = "berthd", methods: [String]) {
            self.version = version; self.server = server; self.methods = methods
        }
    }

    /// What `berth version` prints in its Server section.
    public struct VersionResult: Codable, Sendable, Equatable {
        public var version: String
        public var apiVersion: Int
        public var minAPIVersion: Int
        /// The commit berthd was built from, when the build knew it.
        public var gitCommit: String?
        public var swiftVersion: String
        /// Go's names (GOOS/GOARCH: linux, amd64, arm64), as Docker prints them.
        public var os: String
        public var arch: String
        public var kernelVersion: String
        public init(version: String, apiVersion: Int, minAPIVersion: Int, gitCommit: String?, swiftVersion: String,
                    os: String, arch: String, kernelVersion: String) {
            self.version = version; self.apiVersion = apiVersion; self.minAPIVersion = minAPIVersion
            self.gitCommit = gitCommit; self.swiftVersion = swiftVersion; self.os = os; self.arch = arch
            self.kernelVersion = kernelVersion
        }
    }

    /// What `berth info` prints. berthd fills the host facts and its own
    /// settings; the services register contributors that fill their counts
    /// (images, containers) and the storage driver.
    public struct InfoResult: Codable, Sendable, Equatable {
        public var id: String = ""
        public var name: String = ""
        public var serverVersion: String = ""
        public var apiVersion: Int = BerthAPI.version
        public var pid: Int = 0
        public var root: String = ""
        public var stateDir: String = ""
        public var socket: String = ""
        public var containers: Int = 0
        public var containersRunning: Int = 0
        public var containersPaused: Int = 0
        public var containersStopped: Int = 0
        public var images: Int = 0
        public var storageDriver: String = ""
        /// Driver details as label/value rows (Docker's DriverStatus).
        public var driverStatus: [[String]] = []
        public var cgroupVersion: String = ""
        public var kernelVersion: String = ""
        public var operatingSystem: String = ""
        public var osType: String = "linux"
        /// uname's machine name (x86_64), as Docker's Architecture field.
        public var architecture: String = ""
        public var ncpu: Int = 0
        public var memTotal: Int64 = 0
        public var defaultRegistry: String = ""
        public var insecureRegistries: [String] = []
        public var registryMirrors: [String] = []
        public var debug: Bool = false
        public var logLevel: String = ""
        public var warnings: [String] = []
        public init() {}

        private enum CodingKeys: String, CodingKey {
            case id, name, serverVersion, apiVersion, pid, root, stateDir, socket, containers, containersRunning, containersPaused, containersStopped, images, storageDriver, driverStatus, cgroupVersion, kernelVersion, operatingSystem, osType, architecture, ncpu, memTotal, defaultRegistry, insecureRegistries, registryMirrors, debug, logLevel, warnings
        }

        /// Every field is optional on the wire, so that a client reads the
        /// info of an older or newer berthd (fields added later read as their default).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let v = try c.decodeIfPresent(String.self, forKey: .id) { id = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .name) { name = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .serverVersion) { serverVersion = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .apiVersion) { apiVersion = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .pid) { pid = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .root) { root = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .stateDir) { stateDir = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .socket) { socket = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .containers) { containers = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .containersRunning) { containersRunning = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .containersPaused) { containersPaused = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .containersStopped) { containersStopped = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .images) { images = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .storageDriver) { storageDriver = v }
            if let v = try c.decodeIfPresent([[String]].self, forKey: .driverStatus) { driverStatus = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .cgroupVersion) { cgroupVersion = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .kernelVersion) { kernelVersion = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .operatingSystem) { operatingSystem = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .osType) { osType = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .architecture) { architecture = v }
            if let v = try c.decodeIfPresent(Int.self, forKey: .ncpu) { ncpu = v }
            if let v = try c.decodeIfPresent(Int64.self, forKey: .memTotal) { memTotal = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .defaultRegistry) { defaultRegistry = v }
            if let v = try c.decodeIfPresent([String].self, forKey: .insecureRegistries) { insecureRegistries = v }
            if let v = try c.decodeIfPresent([String].self, forKey: .registryMirrors) { registryMirrors = v }
            if let v = try c.decodeIfPresent(Bool.self, forKey: .debug) { debug = v }
            if let v = try c.decodeIfPresent(String.self, forKey: .logLevel) { logLevel = v }
            if let v = try c.decodeIfPresent([String].self, forKey: .warnings) { warnings = v }
        }
    }
}
