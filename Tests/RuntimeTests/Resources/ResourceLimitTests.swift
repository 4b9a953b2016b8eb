// linux.resources enforced, not just written: a memory hog meets the OOM
// killer, a fork loop meets pids.max, a CPU quota throttles, a denied device
// cannot be opened; blkio weights and throttle rules land in the cgroup; what
// the host cannot do is an error naming the field.

import Foundation
import Glibc
import Testing

@Suite("Resources: limits")
struct ResourceLimitTests {

    @Test("a memory hog is OOM-killed at the memory limit (status 137, oom_kill counted)")
    func memoryHogIsOOMKilled() throws {
        let sb = try Sandbox("oomhog")
        defer { sb.cleanup() }
        // dd's 64 MiB buffer against a 32 MiB limit (swap included, where the host has memsw).
        let counter = HostCgroups.isV2 ? "memory.events" : "memory/memory.oom_control"
        try sb.writeConfig(patch: [
            "process": ["args": ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo \"dd status $?\"; cat /sys/fs/cgroup/\(counter)"]],
            "mounts": ResourceFixtures.mountsWithCgroups,
            "linux": ["resources": ["memory": ["limit": 32 << 20, "swap": 32 << 20]]],
        ])
        let id = sb.newID("oomhog")
        let r = sb.run(["run", "--bundle", sb.bundle, id], timeout: 120)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("dd status 137"), "dd should die of SIGKILL (128+9): \(r)")
        let kills = r.stdout.split(separator: "\n").first { $0.hasPrefix("oom_kill ") }.flatMap { Int($0.dropFirst(9)) }
        #expect((kills ?? 0) >= 1, "the container's cgroup counts the OOM kill: \(r)")
    }

    @Test("a fork loop stops at pids.max")
    func forkLoopStopsAtPidsLimit() throws {
        let sb = try Sandbox("pids")
        defer { sb.cleanup() }
        // The loop runs in a subshell: busybox sh gives up (exits) at the first
        // refused fork. The count of /proc entries needs no fork.
        let script = "(i=0; while [ $i -lt 30 ]; do sleep 2 & i=$((i+1)); done); set -- /proc/[0-9]*; echo \"processes: $#\""
        try sb.writeConfig(patch: [
            "process": ["args": ["sh", "-c", script]],
            "linux": ["resources": ["pids": ["limit": 10]]],
        ])
        let id = sb.newID("pids")
        let r = sb.run(["run", "--bundle", sb.bundle, id], timeout: 60)
        #expect(r.stderr.contains("can't fork"), "busybox sh reports the refused fork: \(r)")
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("processes: ") }
        let processes = line.flatMap { Int($0.dropFirst(11)) }
        #expect(processes != nil && processes! <= 10, "no more than pids.max processes: \(r)")
    }

    @Test("a CPU quota shows up as throttling in events --stats")
    func cpuQuotaThrottles() throws {
        let sb = try Sandbox("cpuquota")
        defer { sb.cleanup() }
        let id = try startDetached(sb, "cpuquota", args: ["sh", "-c", "while :; do :; done"],
                                   linux: ["resources": ["cpu": ["quota": 10000, "period": 100000]]])
        // The busy loop is throttled every period once it runs: poll `events --stats`
        // until it shows (a safety deadline, not a timing assertion).
        var r = sb.run(["events", "--stats", id])
        for _ in 0..<100 {
            let ev = parseJSON(r.stdout) as? [String: Any]
            let t = ((ev?["data"] as? [String: Any])?["cpu"] as? [String: Any])?["throttling"] as? [String: Any]
            if (jsonNumber(t?["throttledPeriods"]) ?? 0) > 0 { break }
            usleep(100_000)
            r = sb.run(["events", "--stats", id])
        }
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.hasSuffix("\n") && r.stdout.split(separator: "\n").count == 1, "one JSON line: \(r)")
        let event = try #require(parseJSON(r.stdout) as? [String: Any], "\(r)")
        #expect(event["type"] as? String == "stats")
        #expect(event["id"] as? String == id)
        let data = try #require(event["data"] as? [String: Any], "\(r)")
        let cpu = data["cpu"] as? [String: Any]
        let throttling = cpu?["throttling"] as? [String: Any]
        #expect((jsonNumber(throttling?["throttledPeriods"]) ?? 0) > 0, "throttledPeriods > 0: \(r)")
        #expect((jsonNumber((cpu?["usage"] as? [String: Any])?["total"]) ?? 0) > 0, "cpu.usage.total > 0: \(r)")
        let pids = data["pids"] as? [String: Any]
        #expect((jsonNumber(pids?["current"]) ?? 0) >= 1, "pids.current: \(r)")
        for key in ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt"] {
            #expect(data[key] != nil, "runc's stats have \(key): \(r)")
        }
        let memory = data["memory"] as? [String: Any]
        #expect((memory?["usage"] as? [String: Any])?["limit"] != nil, "memory.usage.limit: \(r)")
    }

    @Test("the runtime's own memory is not charged to the container: a 4 MiB limit still runs a shell")
    func smallMemoryLimitRunsShell() throws {
        let sb = try Sandbox("mem4m")
        defer { sb.cleanup() }
        try sb.writeConfig(patch: ["process": ["args": ["sh", "-c", "echo ok"]],
                                   "linux": ["resources": ["memory": ["limit": 4 << 20]]]])
        let id = sb.newID("mem4m")
        let r = sb.run(["run", "--bundle", sb.bundle, id])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "ok\n", "\(r)")
    }

    // The init charges roughly 150-250 KiB here before it execs (measured:
    // 512 KiB and 256 KiB still run `echo ok`), so 64 KiB is what kills it.
    @Test("an init OOM-killed during create reports it")
    func oomDuringCreate() throws {
        let sb = try Sandbox("oomcreate")
        defer { sb.cleanup() }
        try sb.writeConfig(patch: ["process": ["args": ["sh", "-c", "echo ok"]],
                                   "linux": ["resources": ["memory": ["limit": 64 << 10]]]])
        let id = sb.newID("oomcreate")
        let r = sb.run(["create", "--bundle", sb.bundle, id])
        expectOneErrorLine(r, containing: "container init was OOM-killed (memory limit too low?)")
        Leftovers.check(root: sb.root, id: id)
    }

    @Test("a device outside the allowlist cannot be opened, even after mknod; an allow rule opens it")
    func deniedDevice() throws {
        let sb = try Sandbox("devices")
        defer { sb.cleanup() }
        // b 8:0 (sda): opening a node the cgroup lets through reaches the driver,
        // which says ENXIO on a host without that disk; a denied one is EPERM.
        let script = "mknod /dev/probe b 8 0 && echo mknod-ok; (: < /dev/probe) 2>&1; (: < /dev/null) && echo null-ok"
        let caps = ResourceFixtures.capabilities(["CAP_MKNOD"])
        try sb.writeConfig(patch: ["process": ["args": ["sh", "-c", script], "capabilities": caps]])
        let plain = sb.run(["run", "--bundle", sb.bundle, sb.newID("devdefault")])
        #expect(plain.stdout.contains("mknod-ok"), "mknod of any device is allowed (runc's default set): \(plain)")
        #expect(plain.stdout.contains("Operation not permitted"), "the default policy denies b 8:0: \(plain)")
        #expect(plain.stdout.contains("null-ok"), "/dev/null stays usable: \(plain)")

        try sb.writeConfig(patch: ["process": ["args": ["sh", "-c", script], "capabilities": caps],
                                   "linux": ["resources": ["devices": [
                                       ["allow": false, "access": "rwm"],
                                       ["allow": true, "type": "b", "major": 8, "minor": 0, "access": "rw"],
                                   ]]]])
        let allowed = sb.run(["run", "--bundle", sb.bundle, sb.newID("devallow")])
        #expect(allowed.stdout.contains("mknod-ok"), "\(allowed)")
        #expect(!allowed.stdout.contains("Operation not permitted"), "the allow rule lets the open through: \(allowed)")
    }

    @Test("blockIO: the weight and a read throttle on the root disk are in the cgroup")
    func blockIOWeightAndThrottle() throws {
        let disk = try #require(ResourceFixtures.rootDisk, "the block device under / (mountinfo, /sys/dev/block)")
        let sb = try Sandbox("blkio")
        defer { sb.cleanup() }
        let key = "\(disk.major):\(disk.minor)"
        let id = try startDetached(sb, "blkio", args: ["sleep", "1000"], linux: ["resources": ["blockIO": [
            "weight": 300,
            "throttleReadBpsDevice": [["major": disk.major, "minor": disk.minor, "rate": 1_048_576]],
            "throttleWriteIOPSDevice": [["major": disk.major, "minor": disk.minor, "rate": 500]],
        ]]])
        if HostCgroups.isV2 {
            let ioMax = HostCgroups.read("io", id, "io.max") ?? ""
            #expect(ioMax.contains("\(key) rbps=1048576") && ioMax.contains("wiops=500"), "io.max: \(ioMax)")
        } else {
            let weight = HostCgroups.read("blkio", id, "blkio.weight") ?? HostCgroups.read("blkio", id, "blkio.bfq.weight")
            #expect(weight == "300", "blkio.weight or blkio.bfq.weight")
            #expect(HostCgroups.read("blkio", id, "blkio.throttle.read_bps_device") == "\(key) 1048576")
            #expect(HostCgroups.read("blkio", id, "blkio.throttle.write_iops_device") == "\(key) 500")
        }
    }

    @Test("blockIO weights outside 10..1000 are refused by name")
    func blockIOWeightRange() throws {
        let sb = try Sandbox("blkiorange")
        defer { sb.cleanup() }
        try sb.writeConfig(patch: ["linux": ["resources": ["blockIO": ["weight": 5]]]])
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, sb.newID("blkiorange")]),
                           containing: "linux.resources.blockIO.weight")
    }

    @Test("network classID: written where net_cls exists, else an error naming the field")
    func networkClassID() throws {
        let sb = try Sandbox("netcls")
        defer { sb.cleanup() }
        try sb.writeConfig(patch: ["process": ["args": ["sleep", "1000"]],
                                   "linux": ["resources": ["network": ["classID": 1_048_577]]]])
        let id = sb.newID("netcls")
        let r = sb.run(["run", "-d", "--bundle", sb.bundle, id])
        if HostCgroups.hasV1("net_cls") {
            #expect(r.status == 0, "\(r)")
            #expect(HostCgroups.read("net_cls", id, "net_cls.classid") == "1048577")
        } else {
            expectOneErrorLine(r, containing: "linux.resources.network.classID")
            Leftovers.check(root: sb.root, id: id)
        }
    }

    @Test("rdma: an error naming the field where the host has no rdma controller",
          .enabled(if: !(readFile("/proc/cgroups") ?? "").contains("\nrdma\t"), "this host has an rdma controller"))
    func rdmaWithoutController() throws {
        let sb = try Sandbox("rdma")
        defer { sb.cleanup() }
        try sb.writeConfig(patch: ["linux": ["resources": ["rdma": ["mlx5_0": ["hcaHandles": 3, "hcaObjects": 100]]]]])
        let id = sb.newID("rdma")
        expectOneErrorLine(sb.run(["create", "--bundle", sb.bundle, id]), containing: "linux.resources.rdma")
        Leftovers.check(root: sb.root, id: id)
    }
}
