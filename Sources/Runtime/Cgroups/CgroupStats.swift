import OCI

/// A container's resource usage as `runc events` reports it: the field names,
/// order and omissions of runc 1.1's types/events.go (Go's `omitempty` drops
/// zero numbers and empty lists; nested objects are always written).
struct CgroupStats {
    struct CPUUsage {
        var total: UInt64 = 0, percpu: [UInt64] = [], percpuKernel: [UInt64] = [], percpuUser: [UInt64] = []
        var kernel: UInt64 = 0, user: UInt64 = 0
    }
    struct Throttling { var periods: UInt64 = 0, throttledPeriods: UInt64 = 0, throttledTime: UInt64 = 0 }
    struct CPUSet {
        var cpus: [UInt64] = [], cpuExclusive: UInt64 = 0, mems: [UInt64] = [], memHardwall: UInt64 = 0
        var memExclusive: UInt64 = 0, memoryMigrate: UInt64 = 0, memorySpreadPage: UInt64 = 0
        var memorySpreadSlab: UInt64 = 0, memoryPressure: UInt64 = 0, schedLoadBalance: UInt64 = 0
        var schedRelaxDomainLevel: Int64 = 0
    }
    struct MemoryEntry { var limit: UInt64 = 0, usage: UInt64 = 0, max: UInt64 = 0, failcnt: UInt64 = 0 }
    struct BlkioEntry { var major: UInt64, minor: UInt64, op: String, value: UInt64 }
    struct Blkio {
        var ioServiceBytesRecursive: [BlkioEntry] = [], ioServicedRecursive: [BlkioEntry] = []
        var ioQueuedRecursive: [BlkioEntry] = [], ioServiceTimeRecursive: [BlkioEntry] = []
        var ioWaitTimeRecursive: [BlkioEntry] = [], ioMergedRecursive: [BlkioEntry] = []
        var ioTimeRecursive: [BlkioEntry] = [], sectorsRecursive: [BlkioEntry] = []
    }
    struct Hugetlb { var usage: UInt64 = 0, max: UInt64 = 0, failcnt: UInt64 = 0 }

    var cpuUsage = CPUUsage()
    var throttling = Throttling()
    var cpuset = CPUSet()
    var memoryCache: UInt64 = 0
    var memoryUsage = MemoryEntry(), swap = MemoryEntry(), kernel = MemoryEntry(), kernelTCP = MemoryEntry()
    var memoryRaw: [(String, UInt64)] = []
    var pidsCurrent: UInt64 = 0, pidsLimit: UInt64 = 0
    var blkio = Blkio()
    var hugetlb: [(String, Hugetlb)] = []

    var json: JSONValue {
        func n(_ v: UInt64) -> JSONValue { .int(v) }
        func list(_ v: [UInt64]) -> JSONValue { .array(v.map { .int($0) }) }
        /// The pairs whose value is not Go's "empty" (0, [], {}).
        func obj(_ pairs: [(String, JSONValue?)]) -> JSONValue { .object(pairs.compactMap { k, v in v.map { (k, $0) } }) }
        // Spelled out: JSONValue is ExpressibleByNilLiteral, so a bare `nil` in a
        // ternary would become .null instead of "left out".
        func omit(_ v: UInt64) -> JSONValue? { if v == 0 { return Optional.none } else { return n(v) } }
        func omit(_ v: [UInt64]) -> JSONValue? { if v.isEmpty { return Optional.none } else { return list(v) } }
        func memory(_ e: MemoryEntry) -> JSONValue {
            obj([("limit", n(e.limit)), ("usage", omit(e.usage)), ("max", omit(e.max)), ("failcnt", n(e.failcnt))])
        }
        func entries(_ list: [BlkioEntry]) -> JSONValue? {
            if list.isEmpty { return Optional.none }
            return .array(list.map { e in
                let op: JSONValue? = e.op.isEmpty ? Optional.none : .string(e.op)
                return obj([("major", omit(e.major)), ("minor", omit(e.minor)), ("op", op), ("value", omit(e.value))])
            })
        }
        let cpu = obj([
            ("usage", obj([("total", omit(cpuUsage.total)), ("percpu", omit(cpuUsage.percpu)),
                           ("percpu_kernel", omit(cpuUsage.percpuKernel)), ("percpu_user", omit(cpuUsage.percpuUser)),
                           ("kernel", n(cpuUsage.kernel)), ("user", n(cpuUsage.user))])),
            ("throttling", obj([("periods", omit(throttling.periods)), ("throttledPeriods", omit(throttling.throttledPeriods)),
                                ("throttledTime", omit(throttling.throttledTime))])),
        ])
        let c = cpuset
        let cpusetJSON = obj([
            ("cpus", omit(c.cpus)), ("cpu_exclusive", n(c.cpuExclusive)), ("mems", omit(c.mems)),
            ("mem_hardwall", n(c.memHardwall)), ("mem_exclusive", n(c.memExclusive)), ("memory_migrate", n(c.memoryMigrate)),
            ("memory_spread_page", n(c.memorySpreadPage)), ("memory_spread_slab", n(c.memorySpreadSlab)),
            ("memory_pressure", n(c.memoryPressure)), ("sched_load_balance", n(c.schedLoadBalance)),
            ("sched_relax_domain_level", .int(c.schedRelaxDomainLevel)),
        ])
        let raw = memoryRaw.sorted { $0.0 < $1.0 }
        let memoryJSON = obj([
            ("cache", omit(memoryCache)), ("usage", memory(memoryUsage)), ("swap", memory(swap)),
            ("kernel", memory(kernel)), ("kernelTCP", memory(kernelTCP)),
            ("raw", raw.isEmpty ? Optional.none : .object(raw.map { ($0.0, n($0.1)) })),
        ])
        let b = blkio
        let blkioJSON = obj([
            ("ioServiceBytesRecursive", entries(b.ioServiceBytesRecursive)), ("ioServicedRecursive", entries(b.ioServicedRecursive)),
            ("ioQueueRecursive", entries(b.ioQueuedRecursive)), ("ioServiceTimeRecursive", entries(b.ioServiceTimeRecursive)),
            ("ioWaitTimeRecursive", entries(b.ioWaitTimeRecursive)), ("ioMergedRecursive", entries(b.ioMergedRecursive)),
            ("ioTimeRecursive", entries(b.ioTimeRecursive)), ("sectorsRecursive", entries(b.sectorsRecursive)),
        ])
        let huge = hugetlb.sorted { $0.0 < $1.0 }.map { k, h in
            (k, obj([("usage", omit(h.usage)), ("max", omit(h.max)), ("failcnt", n(h.failcnt))]))
        }
        return .object([
            ("cpu", cpu), ("cpuset", cpusetJSON), ("memory", memoryJSON),
            ("pids", obj([("current", omit(pidsCurrent)), ("limit", omit(pidsLimit))])),
            ("blkio", blkioJSON), ("hugetlb", .object(huge)), ("intel_rdt", .object([])),
            ("network_interfaces", .null),
        ])
    }

    /// cpuset lists ("0-3,8") as the numbers they name.
    static func expandList(_ text: String?) -> [UInt64] {
        guard let text else { return [] }
        var out: [UInt64] = []
        for part in text.split(separator: ",") {
            let ends = part.split(separator: "-")
            if ends.count == 2, let a = UInt64(ends[0]), let b = UInt64(ends[1]), a <= b, b - a < 65536 {
                out += Array(a...b)
            } else if ends.count == 1, let a = UInt64(ends[0]) {
                out.append(a)
            }
        }
        return out
    }

    /// "8:0 Read 1024" (v1 blkio files): the entries, without the "Total" line.
    static func blkioEntries(_ path: String) -> [BlkioEntry] {
        guard let text = try? FS.readString(path) else { return [] }
        var out: [BlkioEntry] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 2, f[0] != "Total" else { continue }
            let dev = f[0].split(separator: ":")
            guard dev.count == 2, let major = UInt64(dev[0]), let minor = UInt64(dev[1]) else { continue }
            if f.count == 3, let v = UInt64(f[2]) {
                out.append(BlkioEntry(major: major, minor: minor, op: String(f[1]), value: v))
            } else if f.count == 2, let v = UInt64(f[1]) {
                out.append(BlkioEntry(major: major, minor: minor, op: "", value: v))
            }
        }
        return out
    }
}
