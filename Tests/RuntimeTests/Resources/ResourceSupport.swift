// Helpers for the resource-control tests: where the host keeps a container's
// cgroup files, a config with /sys/fs/cgroup mounted in the container, and the
// block device under /.

import Foundation
import Glibc
import Testing

enum HostCgroups {
    /// Pure cgroup v2 when /sys/fs/cgroup itself is cgroup2.
    static let isV2: Bool = {
        for line in (readFile("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let parts = line.components(separatedBy: " - ")
            let fields = parts[0].split(separator: " ")
            if parts.count == 2, fields.count > 4, fields[4] == "/sys/fs/cgroup" {
                return parts[1].hasPrefix("cgroup2 ")
            }
        }
        return false
    }()

    /// A v1 controller mounted on this host (e.g. "net_cls" is absent on some).
    static func hasV1(_ controller: String) -> Bool {
        !isV2 && isDirectory("/sys/fs/cgroup/\(controller)") && Leftovers.cgroupMounts.contains("/sys/fs/cgroup/\(controller)")
    }

    /// The directory of a container created with the default cgroupsPath ("/<id>").
    static func dir(_ v1Controller: String, _ id: String) -> String {
        isV2 ? "/sys/fs/cgroup/\(id)" : "/sys/fs/cgroup/\(v1Controller)/\(id)"
    }

    static func read(_ v1Controller: String, _ id: String, _ file: String) -> String? {
        readFile(dir(v1Controller, id) + "/" + file)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

enum ResourceFixtures {
    /// base-config.json's mounts plus the host's cgroups, read-only, at /sys/fs/cgroup.
    static var mountsWithCgroups: [[String: Any]] {
        let base = (parseJSON(readFile(TestEnv.fixturesDir + "/base-config.json") ?? "") as? [String: Any])?["mounts"]
        return ((base as? [[String: Any]]) ?? []) + [
            ["destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "nodev", "noexec"]],
        ]
    }

    /// Every capability set with just these capabilities.
    static func capabilities(_ caps: [String]) -> [String: Any] {
        ["bounding": caps, "effective": caps, "permitted": caps]
    }

    /// The whole-disk block device that holds / ("254:0"), found through
    /// /proc/self/mountinfo and, for a partition, its parent in /sys/dev/block.
    static var rootDisk: (major: Int, minor: Int)? {
        for line in (readFile("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 4, f[4] == "/", f[3] == "/" else { continue }
            let dev = String(f[2])
            var sys = "/sys/dev/block/\(dev)"
            guard isDirectory(sys) else { continue }
            if fileExists(sys + "/partition") { sys += "/.." }
            guard let text = readFile(sys + "/dev")?.trimmingCharacters(in: .whitespacesAndNewlines) else { continue }
            let mm = text.split(separator: ":").compactMap { Int($0) }
            if mm.count == 2 { return (mm[0], mm[1]) }
        }
        return nil
    }
}

/// A detached container running `args` with `linux` merged into its config.
func startDetached(_ sb: Sandbox, _ hint: String, args: [String], linux: [String: Any] = [:],
                   extra: [String: Any] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    var patch: [String: Any] = ["process": ["args": args], "linux": linux]
    for (k, v) in extra { patch[k] = v }
    try sb.writeConfig(patch: patch)
    let id = sb.newID(hint)
    let r = sb.run(["run", "-d", "--bundle", sb.bundle, id])
    try #require(r.status == 0, "run -d: \(r)", sourceLocation: sourceLocation)
    return id
}
