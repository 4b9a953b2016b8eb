import OCI

/// v1 memory controller: memory.limit_in_bytes, memory.memsw.* (memory+swap,
/// which is what OCI's swap means), soft limit, swappiness, the OOM killer
/// switch and the (deprecated) kernel memory limits.
enum MemoryV1 {
    static let field = "linux.resources.memory"

    static func needed(_ m: Resources.Memory) -> Bool {
        m.limit != nil || m.swap != nil || m.reservation != nil || m.swappiness != nil || m.disableOOMKiller != nil
            || m.kernel != nil || m.kernelTCP != nil || m.useHierarchy != nil
    }

    static func apply(_ m: Resources.Memory, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if m.checkBeforeUpdate == true {
            try MemoryUsageCheck.check(m, usage: CgroupFile.uint(d + "/memory.usage_in_bytes"),
                                       memswUsage: CgroupFile.uint(d + "/memory.memsw.usage_in_bytes"))
        }
        let hasMemsw = FS.exists(d + "/memory.memsw.limit_in_bytes")
        var swap = m.swap
        // runc: "unlimited memory" with no swap value means unlimited memory+swap
        // too, or the kernel would refuse a limit above the old memsw.
        if m.limit == -1, swap == nil, hasMemsw { swap = -1 }
        if let swap {
            guard hasMemsw else { throw RuntimeError("\(field).swap: swap accounting is not enabled on this host") }
            guard swap >= -1 else { throw RuntimeError("\(field).swap: invalid value \(swap)") }
        }
        if let limit = m.limit, let swap {
            guard limit >= -1 else { throw RuntimeError("\(field).limit: invalid value \(limit)") }
            if limit == -1, swap != -1 {
                throw RuntimeError("\(field): swap (\(swap)) cannot be limited when the memory limit is -1 (unlimited)")
            }
            guard swap == -1 || limit == -1 || swap >= limit else {
                throw RuntimeError("\(field): swap (\(swap)) must be at least the memory limit (\(limit)), it counts memory plus swap")
            }
            // The kernel keeps memsw >= limit after every write: raise memsw first
            // when it has to make room for the new limit, otherwise lower the
            // limit first (runc's order).
            let current = CgroupFile.uint(d + "/memory.limit_in_bytes") ?? UInt64.max
            if swap == -1 || current < UInt64(swap) {
                try w.write(d, "memory.memsw.limit_in_bytes", String(swap), field: "\(field).swap")
                try w.write(d, "memory.limit_in_bytes", String(limit), field: "\(field).limit")
            } else {
                try w.write(d, "memory.limit_in_bytes", String(limit), field: "\(field).limit")
                try w.write(d, "memory.memsw.limit_in_bytes", String(swap), field: "\(field).swap")
            }
        } else if let limit = m.limit {
            guard limit >= -1 else { throw RuntimeError("\(field).limit: invalid value \(limit)") }
            try writeLimit(d, String(limit), memsw: CgroupFile.uint(d + "/memory.memsw.limit_in_bytes"), w)
        } else if let swap {
            try w.write(d, "memory.memsw.limit_in_bytes", String(swap), field: "\(field).swap")
        }
        if let r = m.reservation { try w.write(d, "memory.soft_limit_in_bytes", String(r), field: "\(field).reservation") }
        if let s = m.swappiness {
            guard s <= 100 else { throw RuntimeError("\(field).swappiness: \(s) is above 100") }
            try w.write(d, "memory.swappiness", String(s), field: "\(field).swappiness")
        }
        if let off = m.disableOOMKiller {
            try w.write(d, "memory.oom_control", off ? "1" : "0", field: "\(field).disableOOMKiller",
                        restore: { old in CgroupFile.keyValuesText(old).first { $0.0 == "oom_kill_disable" }.map { String($0.1) } })
        }
        if let h = m.useHierarchy {
            try w.write(d, "memory.use_hierarchy", h ? "1" : "0", field: "\(field).useHierarchy")
        }
        if let k = m.kernel {
            // Deprecated in the spec; kernels since 5.16 accept the write and ignore it.
            try w.write(d, "memory.kmem.limit_in_bytes", String(k), field: "\(field).kernel")
            if let now = CgroupFile.int(d + "/memory.kmem.limit_in_bytes"), k > 0, now > k + 4096 {
                w.log.warning("\(field).kernel is ignored: this kernel no longer enforces kernel memory limits")
            }
        }
        if let k = m.kernelTCP { try w.write(d, "memory.kmem.tcp.limit_in_bytes", String(k), field: "\(field).kernelTCP") }
    }

    /// A new limit alone: the kernel refuses one above memory+swap, which
    /// deserves a clearer word than EINVAL.
    private static func writeLimit(_ d: String, _ limit: String, memsw: UInt64?, _ w: KnobWriter) throws(RuntimeError) {
        do { try w.write(d, "memory.limit_in_bytes", limit, field: "\(field).limit") } catch {
            if let memsw, let l = Int64(limit), l == -1 || UInt64(l) > memsw {
                throw RuntimeError("\(field).limit: \(limit) is above the memory+swap limit (\(memsw)); set the swap limit as well")
            }
            throw error
        }
    }

    static func oomKillCount(_ dir: String) -> UInt64 {
        CgroupFile.value(dir + "/memory.oom_control", key: "oom_kill") ?? 0
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        s.memoryRaw = CgroupFile.keyValues(d + "/memory.stat")
        s.memoryCache = s.memoryRaw.first { $0.0 == "cache" }?.1 ?? 0
        func entry(_ prefix: String) -> CgroupStats.MemoryEntry {
            CgroupStats.MemoryEntry(limit: CgroupFile.uint(d + "/\(prefix).limit_in_bytes") ?? 0,
                                    usage: CgroupFile.uint(d + "/\(prefix).usage_in_bytes") ?? 0,
                                    max: CgroupFile.uint(d + "/\(prefix).max_usage_in_bytes") ?? 0,
                                    failcnt: CgroupFile.uint(d + "/\(prefix).failcnt") ?? 0)
        }
        s.memoryUsage = entry("memory")
        s.swap = entry("memory.memsw")
        s.kernel = entry("memory.kmem")
        s.kernelTCP = entry("memory.kmem.tcp")
    }
}
