import Content

/// How the registry client reaches registries. The manager fills it from its config file.
public struct RegistryConfiguration: Sendable {
    /// Where names without a registry go (`busybox` → `docker.io/library/busybox`).
    public var defaultRegistry = Reference.dockerHub
    /// Hosts (`host` or `host:port`) reached over HTTP, or over HTTPS without verifying the
    /// certificate. Loopback hosts (localhost, 127.0.0.0/8, ::1) are always reached over HTTP.
    public var insecureRegistries: [String] = []
    /// PEM files of extra certificate authorities, trusted beside the system's.
    public var caFiles: [String] = []
    /// Docker's per-registry certificate directories: `<certsDirectory>/<host[:port]>/*.crt`
    /// are CAs trusted for that registry only (berthd: `certs.d` beside its config file).
    public var certsDirectory: String?
    /// Mirrors of the default registry, as `http[s]://host[:port]` URLs, tried in order before
    /// it when pulling (Docker's `registry-mirrors`). Other registries never use them.
    public var registryMirrors: [String] = []
    /// Attempts per request (network errors, 429 and 5xx answers) before giving up.
    public var maxAttempts = 6
    /// Back-off before the second attempt, doubled each time up to `maxBackoff` (seconds).
    public var initialBackoff = 0.25
    public var maxBackoff = 4.0
    /// Blob downloads at once in `pull` (Docker's default: 3).
    public var maxConcurrentDownloads = 3
    /// Blobs up to this size are pushed in one PUT; larger ones in PATCH chunks.
    public var monolithicUploadLimit: Int64 = 32 << 20
    public var uploadChunkSize: Int64 = 16 << 20
    /// libcurl's receive buffer: larger buffers mean fewer callbacks per megabyte.
    public var receiveBufferSize = 512 << 10
    public var userAgent = "berth/0.1"

    public init() {}

    /// The host that serves `domain`'s API (Docker Hub's is registry-1.docker.io).
    public func apiHost(for domain: String) -> String {
        domain == Reference.dockerHub ? "registry-1.docker.io" : domain
    }

    /// The mirror hosts to try, in order, before `domain` itself: the configured mirrors when
    /// `domain` is the default registry, else none.
    public func mirrorHosts(for domain: String) -> [String] {
        guard domain == defaultRegistry else { return [] }
        return registryMirrors.compactMap { RegistryConfiguration.parseMirror($0)?.host }
    }

    /// `http[s]://host[:port][/]` → its scheme and host; nil for anything else (a path, a query,
    /// another scheme), which Docker refuses too.
    public static func parseMirror(_ url: String) -> (scheme: String, host: String)? {
        for scheme in ["https", "http"] where url.hasPrefix(scheme + "://") {
            var rest = Substring(url.dropFirst(scheme.count + 3))
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            guard !rest.isEmpty, !rest.contains(where: { "/?#@ ".contains($0) }) else { return nil }
            return (scheme, String(rest))
        }
        return nil
    }

    /// Whether `host` is spoken to over plain HTTP first.
    public func isInsecure(_ host: String) -> Bool {
        if insecureRegistries.contains(host) { return true }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().prefix(while: { $0 != "]" }))
                                      : String(host.prefix(while: { $0 != ":" }))
        if insecureRegistries.contains(bare) { return true }
        return bare == "localhost" || bare.hasPrefix("127.") || bare == "::1"
    }
}
