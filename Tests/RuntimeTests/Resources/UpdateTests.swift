// `update`: new limits reach a running container's cgroup (seen from inside),
// from flags or from LinuxResources JSON on stdin; an update the kernel
// refuses changes nothing; a stopped container cannot be updated.

import Foundation
import Glibc
import Testing

@Suite("Resources: update")
struct UpdateTests {
    /// The memory limit as the container reads it from its own cgroup mount.
    func limitInside(_ sb: Sandbox, _ id: String) -> String {
        let file = HostCgroups.isV2 ? "/sys/fs/cgroup/memory.max" : "/sys/fs/cgroup/memory/memory.limit_in_bytes"
        return sb.run(["exec", id, "cat", file]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("update --memory changes the limit a running container sees")
    func updateMemory() throws {
        let sb = try Sandbox("updmem")
        defer { sb.cleanup() }
        let id = try startDetached(sb, "updmem", args: ["sleep", "1000"],
                                   linux: ["resources": ["memory": ["limit": 100 << 20]]],
                                   extra: ["mounts": ResourceFixtures.mountsWithCgroups])
        #expect(limitInside(sb, id) == String(100 << 20))
        let u = sb.run(["update", "--memory", "200M", id])
        #expect(u.status == 0 && u.stdout.isEmpty, "\(u)")
        #expect(limitInside(sb, id) == String(200 << 20), "runc's units: 200M is 200 MiB")
        #expect(sb.run(["update", "--memory", "1.5g", id]).status == 0)
        #expect(limitInside(sb, id) == String(3 << 29))
        expectOneErrorLine(sb.run(["update", "--memory", "lots", id]), containing: "invalid value for memory")
        #expect(limitInside(sb, id) == String(3 << 29), "a bad value changes nothing")
    }

    @Test("update -r - reads LinuxResources JSON from stdin")
    func updateFromStdin() throws {
        let sb = try Sandbox("updstdin")
        defer { sb.cleanup() }
        let id = try startDetached(sb, "updstdin", args: ["sleep", "1000"],
                                   linux: ["resources": ["pids": ["limit": 50], "cpu": ["shares": 1024]]])
        let json = sb.tmp + "/resources.json"
        try writeFile(json, #"{"pids": {"limit": 20}, "cpu": {"shares": 512, "quota": 20000, "period": 100000}, "memory": {"limit": 0}}"#)
        let u = sb.run(["update", "-r", "-", id], stdinPath: json)
        #expect(u.status == 0, "\(u)")
        #expect(HostCgroups.read("pids", id, "pids.max") == "20")
        if HostCgroups.isV2 {
            #expect(HostCgroups.read("cpu", id, "cpu.max") == "20000 100000")
        } else {
            #expect(HostCgroups.read("cpu", id, "cpu.shares") == "512")
            #expect(HostCgroups.read("cpu", id, "cpu.cfs_quota_us") == "20000")
            // runc reads 0 as "unchanged": no zero-byte memory limit.
            #expect(HostCgroups.read("memory", id, "memory.limit_in_bytes") != "0")
        }
    }

    @Test("an update the kernel refuses puts back what it already changed")
    func failedUpdateChangesNothing() throws {
        let sb = try Sandbox("updrollback")
        defer { sb.cleanup() }
        let id = try startDetached(sb, "updrollback", args: ["sleep", "1000"], linux: ["resources": ["pids": ["limit": 50]]])
        let cpusBefore = HostCgroups.read("cpuset", id, "cpuset.cpus")
        // pids.max is written first, then the cpuset write fails (no CPU 999).
        let u = sb.run(["update", "--pids-limit", "30", "--cpuset-cpus", "999", id])
        expectOneErrorLine(u, containing: "linux.resources.cpu.cpus")
        #expect(HostCgroups.read("pids", id, "pids.max") == "50", "pids.max restored")
        #expect(HostCgroups.read("cpuset", id, "cpuset.cpus") == cpusBefore)
    }

    @Test("memory.checkBeforeUpdate refuses a limit below the current usage")
    func checkBeforeUpdate() throws {
        let sb = try Sandbox("updcheck")
        defer { sb.cleanup() }
        let id = try startDetached(sb, "updcheck", args: ["sleep", "1000"], linux: ["resources": ["memory": ["limit": 100 << 20]]])
        let json = sb.tmp + "/check.json"
        try writeFile(json, #"{"memory": {"limit": 4096, "checkBeforeUpdate": true}}"#)
        expectOneErrorLine(sb.run(["update", "-r", "-", id], stdinPath: json), containing: "rejecting memory limit 4096")
        let file = HostCgroups.isV2 ? "memory.max" : "memory.limit_in_bytes"
        #expect(HostCgroups.read("memory", id, file) == String(100 << 20))
    }

    @Test("update of a paused container applies; of a stopped one fails; Intel RDT flags are refused")
    func updateStates() throws {
        let sb = try Sandbox("updstate")
        defer { sb.cleanup() }
        let id = try startDetached(sb, "updstate", args: ["sleep", "1000"])
        #expect(sb.run(["pause", id]).status == 0)
        #expect(sb.run(["update", "--pids-limit", "42", id]).status == 0)
        #expect(HostCgroups.read("pids", id, "pids.max") == "42")
        #expect(sb.run(["resume", id]).status == 0)
        expectOneErrorLine(sb.run(["update", "--l3-cache-schema", "L3:0=f", id]), containing: "Intel RDT")
        #expect(sb.run(["kill", id, "KILL"]).status == 0)
        #expect(sb.waitForStatus(id, "stopped"))
        // runc: "container not running"
        expectOneErrorLine(sb.run(["update", "--pids-limit", "10", id]), containing: "container not running")
    }
}
