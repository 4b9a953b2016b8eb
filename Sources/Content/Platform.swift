#if canImport(Glibc)
import Glibc
#endif

/// The platform an image runs on, as the OCI image index writes it, with
/// containerd's normalisation (x86_64 → amd64, aarch64 → arm64, arm defaults to v7)
/// and its matching rule (an arm/v7 host also runs v6 and v5 images).
public struct Platform: Codable, Sendable, Hashable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var features: [String]?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant, features
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String, architecture: String, variant: String? = nil, osVersion: String? = nil, osFeatures: [String]? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
        self.osFeatures = osFeatures
    }

    /// `os/arch[/variant]`, as `--platform` takes it.
    public var description: String {
        var s = os + "/" + architecture
        if let v = variant, !v.isEmpty { s += "/" + v }
        return s
    }

    /// Parses `linux`, `linux/arm64`, `linux/arm64/v8`, `amd64` (an architecture
    /// alone means the host's OS), normalised.
    public init(parsing spec: String) throws(ContentError) {
        let parts = spec.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." } }) else {
            throw .invalidDocument(what: "platform \"\(spec)\"", reason: "expected os[/arch[/variant]]")
        }
        let knownOS: Set<String> = ["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "android", "ios", "js", "wasip1", "plan9", "dragonfly"]
        if parts.count == 1 {
            if knownOS.contains(parts[0]) {
                self = Platform.host
                os = parts[0]
                if os != Platform.host.os { architecture = Platform.host.architecture; variant = Platform.host.variant }
            } else {
                self = Platform(os: Platform.host.os, architecture: parts[0])
            }
        } else {
            self = Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
        }
        self = normalized
    }

    /// The same platform with containerd's spelling of architecture and variant.
    public var normalized: Platform {
        var p = self
        p.os = os.lowercased()
        var v = variant?.lowercased() ?? ""
        switch architecture.lowercased() {
        case "i386": p.architecture = "386"; v = ""
        case "x86_64", "x86-64", "amd64":
            p.architecture = "amd64"
            if v == "v1" { v = "" }
        case "aarch64", "arm64":
            p.architecture = "arm64"
            if v == "8" || v == "v8" || v == "" { v = "" }
        case "armhf": p.architecture = "arm"; v = "v7"
        case "armel": p.architecture = "arm"; v = "v6"
        case "arm":
            p.architecture = "arm"
            switch v {
            case "", "7": v = "v7"
            case "5", "6", "8": v = "v" + v
            default: break
            }
        default: p.architecture = architecture.lowercased()
        }
        p.variant = v.isEmpty ? nil : v
        return p
    }

    /// The platform this process runs on.
    public static let host: Platform = {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        var p = Platform(os: "linux", architecture: machine)
        if machine.hasPrefix("armv") {
            p.architecture = "arm"
            p.variant = "v" + String(machine.dropFirst(4).prefix(1))
        }
        return p.normalized
    }()

    /// Whether an image for `candidate` runs on this platform (containerd's `platforms.Only`):
    /// OS and architecture equal, and the candidate's variant equal or one the host also runs
    /// (arm v8 runs v7, v6, v5; an unspecified variant on either side matches any).
    public func matches(_ candidate: Platform) -> Bool {
        let want = normalized, have = candidate.normalized
        guard want.os == have.os, want.architecture == have.architecture else { return false }
        guard let wv = want.variant, let hv = have.variant else { return true }
        if wv == hv { return true }
        if want.architecture == "arm", let w = Int(wv.dropFirst()), let h = Int(hv.dropFirst()) { return h <= w }
        if want.architecture == "amd64", let w = Int(wv.dropFirst()), let h = Int(hv.dropFirst()) { return h <= w }
        return false
    }

    /// How well a candidate fits, for choosing among several that match: exact variant first.
    func preference(for candidate: Platform) -> Int {
        let want = normalized, have = candidate.normalized
        if want.variant == have.variant { return 2 }
        if have.variant == nil { return 1 }
        if let w = want.variant.flatMap({ Int($0.dropFirst()) }), let h = have.variant.flatMap({ Int($0.dropFirst()) }) {
            return 1 - (w - h) // nearer variants first (v7 before v6 on a v7 host)
        }
        return 0
    }
}
