import Glibc
import OCI
import Registry

/// berthd's configuration file (`--config`, default /etc/berth/berthd.json):
///
///     {"defaultRegistry": "docker.io", "insecureRegistries": ["registry.local:5000"],
///      "registryMirrors": ["https://mirror.local"], "caFiles": ["/etc/berth/ca.pem"], "logLevel": "info"}
///
/// Every key is optional. An unknown key is an error naming it: a typo must
/// not silently leave a registry secure or a mirror unused.
///
/// Beside the file, `certs.d/HOST[:PORT]/*.crt` (Docker's /etc/docker/certs.d)
/// holds CAs trusted for one registry only: /etc/berth/certs.d by default.
public struct DaemonConfig: Codable, Sendable, Equatable {
    /// The registry of references without one ("busybox" → docker.io/library/busybox).
    public var defaultRegistry: String = "docker.io"
    /// Registries reached over plain HTTP (or HTTPS without verification), as `host[:port]`.
    /// Loopback registries are always allowed over HTTP.
    public var insecureRegistries: [String] = []
    /// Mirrors of the default registry, as `http[s]://host[:port]` URLs, tried in order
    /// before it when pulling (Docker's registry-mirrors; never for other registries or push).
    public var registryMirrors: [String] = []
    /// Extra PEM files of certificate authorities, on top of the system's.
    public var caFiles: [String] = []
    public var logLevel: String = "info"
    /// The default network's bridge interface (Docker's `bridge`).
    public var bridge: String = "berth0"
    /// The default network's gateway address and prefix, "172.17.0.1/16" (Docker's `bip`);
    /// unset: 172.17.0.0/16, or the first free /16 when that overlaps a host route.
    public var bip: String?
    /// Per-registry CA directories (`certs.d` beside the config file); not a key of the file.
    public var certsDirectory: String = "/etc/berth/certs.d"

    public static let defaultPath = "/etc/berth/berthd.json"
    static let keys: Set<String> = ["defaultRegistry", "insecureRegistries", "registryMirrors", "caFiles", "logLevel", "bridge", "bip"]

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case defaultRegistry, insecureRegistries, registryMirrors, caFiles, logLevel, bridge, bip
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(String.self, forKey: .defaultRegistry) { defaultRegistry = v }
        if let v = try c.decodeIfPresent([String].self, forKey: .insecureRegistries) { insecureRegistries = v }
        if let v = try c.decodeIfPresent([String].self, forKey: .registryMirrors) { registryMirrors = v }
        if let v = try c.decodeIfPresent([String].self, forKey: .caFiles) { caFiles = v }
        if let v = try c.decodeIfPresent(String.self, forKey: .logLevel) { logLevel = v }
        if let v = try c.decodeIfPresent(String.self, forKey: .bridge) { bridge = v }
        bip = try c.decodeIfPresent(String.self, forKey: .bip)
    }

    /// Parses and checks a config document; `source` names it in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws(DaemonError) -> DaemonConfig {
        let v: JSONValue
        do { v = try JSONParser.parse(bytes) } catch { throw DaemonError("\(source): \(error.message)") }
        guard case .object(let pairs) = v else { throw DaemonError("\(source): the configuration must be a JSON object") }
        for (k, _) in pairs where !keys.contains(k) {
            throw DaemonError("\(source): unknown configuration key \"\(k)\" (known: \(keys.sorted().joined(separator: ", ")))")
        }
        let config: DaemonConfig
        do { config = try JSONValueDecoder().decode(DaemonConfig.self, from: v) } catch { throw DaemonError("\(source): \(error)") }
        guard Logger.Level(name: config.logLevel) != nil else {
            throw DaemonError("\(source): logLevel: unknown level \"\(config.logLevel)\" (debug, info, warn, error)")
        }
        guard !config.defaultRegistry.isEmpty, !config.defaultRegistry.contains("/") else {
            throw DaemonError("\(source): defaultRegistry: \"\(config.defaultRegistry)\" is not a registry host[:port]")
        }
        guard !config.bridge.isEmpty, config.bridge.utf8.count <= 15, !config.bridge.contains("/"), !config.bridge.contains(" ") else {
            throw DaemonError("\(source): bridge: \"\(config.bridge)\" is not an interface name (1 to 15 characters)")
        }
        for m in config.registryMirrors where RegistryConfiguration.parseMirror(m) == nil {
            throw DaemonError("\(source): registryMirrors: invalid mirror \"\(m)\" (an http:// or https:// URL without a path)")
        }
        return config
    }

    /// Reads the file at `path`. A missing file is an error only when it was
    /// named on the command line (`required`); the default path may be absent.
    public static func load(_ path: String, required: Bool) throws(DaemonError) -> DaemonConfig {
        var config = try readFile(path, required: required)
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        config.certsDirectory = (dir.isEmpty ? "" : dir) + "/certs.d"
        return config
    }

    private static func readFile(_ path: String, required: Bool) throws(DaemonError) -> DaemonConfig {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT && !required { return DaemonConfig() }
            throw DaemonError.errno("config \(path)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw DaemonError.errno("config \(path)") }
            if n == 0 { break }
            bytes += buf[0..<n]
            if bytes.count > 1 << 20 { throw DaemonError("config \(path): larger than 1 MiB") }
        }
        return try parse(bytes, source: path)
    }
}
