import OCI

/// v2 memory controller: memory.max, memory.low and memory.swap.max (swap
/// alone, where OCI's swap is memory plus swap as on v1).
enum MemoryV2 {
    static let field = "linux.resources.memory"

    static func needed(_ m: Resources.Memory) -> Bool {
        m.limit != nil || m.swap != nil || m.reservation != nil || m.swappiness != nil || m.disableOOMKiller == true
            || m.kernel != nil || m.kernelTCP != nil || m.useHierarchy == false
    }

    /// -1 is "no limit" as on v1, which v2 spells "max".
    static func text(_ v: Int64) -> String { v == -1 ? "max" : String(v) }

    static func apply(_ m: Resources.Memory, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if m.swappiness != nil { throw RuntimeError("\(field).swappiness: not available on cgroup v2") }
        if m.disableOOMKiller == true { throw RuntimeError("\(field).disableOOMKiller: not available on cgroup v2") }
        if m.kernel != nil || m.kernelTCP != nil { throw RuntimeError("\(field).kernel/kernelTCP: not available on cgroup v2") }
        if m.useHierarchy == false { throw RuntimeError("\(field).useHierarchy: cgroup v2 is always hierarchical") }
        for (name, v) in [("limit", m.limit), ("reservation", m.reservation), ("swap", m.swap)] {
            if let v, v < -1 { throw RuntimeError("\(field).\(name): invalid value \(v)") }
        }
        if m.checkBeforeUpdate == true {
            try MemoryUsageCheck.check(m, usage: CgroupFile.uint(d + "/memory.current"), memswUsage: nil)
        }
        let swapMax = try swapValue(m, currentLimit: CgroupFile.uint(d + "/memory.max"))
        if let swapMax {
            if FS.exists(d + "/memory.swap.max") {
                try w.write(d, "memory.swap.max", swapMax, field: "\(field).swap")
            } else if m.swap != nil {
                // Only an asked-for swap limit needs the file; "unlimited" implied by limit -1 does not.
                throw RuntimeError("\(field).swap: swap accounting is not enabled on this host")
            }
        }
        if let limit = m.limit { try w.write(d, "memory.max", text(limit), field: "\(field).limit") }
        if let r = m.reservation { try w.write(d, "memory.low", text(r), field: "\(field).reservation") }
    }

    /// memory.swap.max from OCI's memory+swap, as runc converts it: -1 is "max";
    /// an unlimited memory with no swap value means unlimited swap too;
    /// otherwise swap minus the memory limit (the new one, or the one in force).
    static func swapValue(_ m: Resources.Memory, currentLimit: UInt64?) throws(RuntimeError) -> String? {
        guard let swap = m.swap else { return m.limit == -1 ? "max" : nil }
        if swap == -1 { return "max" }
        let limit: Int64
        if let l = m.limit { limit = l } else if let c = currentLimit, c != UInt64.max { limit = Int64(c) } else { limit = -1 }
        guard limit > 0 else { throw RuntimeError("\(field).swap: a swap limit needs a memory limit on cgroup v2") }
        guard swap >= limit else {
            throw RuntimeError("\(field): swap (\(swap)) must be at least the memory limit (\(limit)), it counts memory plus swap")
        }
        return String(swap - limit)
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        s.memoryRaw = CgroupFile.keyValues(d + "/memory.stat")
        s.memoryCache = s.memoryRaw.first { $0.0 == "file" }?.1 ?? 0
        s.memoryUsage = CgroupStats.MemoryEntry(limit: CgroupFile.uint(d + "/memory.max") ?? 0,
                                                usage: CgroupFile.uint(d + "/memory.current") ?? 0,
                                                max: CgroupFile.uint(d + "/memory.peak") ?? 0, failcnt: 0)
        // v1 reported memory+swap; runc adds the two up on v2 to keep that meaning.
        if let swapUsage = CgroupFile.uint(d + "/memory.swap.current") {
            let swapLimit = CgroupFile.uint(d + "/memory.swap.max") ?? UInt64.max
            let limit = s.memoryUsage.limit
            s.swap = CgroupStats.MemoryEntry(
                limit: swapLimit == UInt64.max || limit == UInt64.max ? UInt64.max : swapLimit + limit,
                usage: swapUsage + s.memoryUsage.usage, max: 0, failcnt: 0)
        }
    }
}
