import Glibc

/// What this build of Berth is, for `berth version`, `berthd --version` and `info`.
/// In RPC rather than Manager so that the `berth` CLI need not link Manager
/// (and with it SQLite, libcurl, libarchive, libcrypto: 40-odd shared
/// libraries loaded at every start of the CLI).
public enum BuildInfo {
    public static let version = "0.1.0"
    /// The commit the binaries were built from; SwiftPM has no way to stamp
    /// it at build time yet, so it is unknown unless a packager sets
    /// BERTH_GIT_COMMIT in the daemon's environment.
    public static var gitCommit: String? {
        guard let v = getenv("BERTH_GIT_COMMIT") else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    public static var swiftVersion: String {
        #if compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    /// Go's GOOS, as Docker prints OS/Arch.
    public static let os = "linux"

    /// Go's GOARCH for this build's architecture (amd64, arm64, …).
    public static var arch: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #elseif arch(arm)
        return "arm"
        #elseif arch(i386)
        return "386"
        #elseif arch(powerpc64le)
        return "ppc64le"
        #elseif arch(s390x)
        return "s390x"
        #elseif arch(riscv64)
        return "riscv64"
        #else
        return "unknown"
        #endif
    }
}
