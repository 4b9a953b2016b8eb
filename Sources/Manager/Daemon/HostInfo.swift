import Glibc

/// Facts about the host for `info` and `version`, read once.
public struct HostInfo: Sendable, Equatable {
    public var hostname: String
    public var kernelVersion: String
    /// uname's machine (x86_64), Docker's "Architecture".
    public var machine: String
    /// PRETTY_NAME of /etc/os-release ("Debian GNU/Linux 12 (bookworm)").
    public var operatingSystem: String
    public var ncpu: Int
    public var memTotal: Int64
    /// "2" on a unified (cgroup2) hierarchy, "1" otherwise.
    public var cgroupVersion: String

    public static func read() -> HostInfo {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: inout T) -> String {
            withUnsafeBytes(of: &t) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let pages = Int64(sysconf(Int32(_SC_PHYS_PAGES)))
        let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
        // cgroup.controllers exists only at the root of a unified (v2) hierarchy.
        let cgroup2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
        return HostInfo(
            hostname: field(&u.nodename),
            kernelVersion: field(&u.release),
            machine: field(&u.machine),
            operatingSystem: osRelease() ?? "Linux",
            ncpu: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            memTotal: pages * pageSize,
            cgroupVersion: cgroup2 ? "2" : "1")
    }

    /// PRETTY_NAME from /etc/os-release (or /usr/lib/os-release), unquoted.
    static func osRelease() -> String? {
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            guard let f = fopen(path, "r") else { continue }
            defer { fclose(f) }
            var line = [CChar](repeating: 0, count: 512)
            while fgets(&line, Int32(line.count), f) != nil {
                let s = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard s.hasPrefix("PRETTY_NAME=") else { continue }
                var v = Substring(s.dropFirst("PRETTY_NAME=".count))
                while v.last == "\n" || v.last == "\r" { v.removeLast() }
                if v.count >= 2, v.first == "\"" || v.first == "'", v.last == v.first { v = v.dropFirst().dropLast() }
                return String(v)
            }
        }
        return nil
    }
}
