import OCI

/// linux.resources.memory.checkBeforeUpdate: a new limit at or below what the
/// container already uses is refused rather than handed to the kernel, which
/// would reclaim hard and then OOM-kill. At create the cgroup is empty, so the
/// check only ever refuses something in `update` (runc's wording).
enum MemoryUsageCheck {
    static func check(_ m: Resources.Memory, usage: UInt64?, memswUsage: UInt64?) throws(RuntimeError) {
        guard let usage else {
            throw RuntimeError("linux.resources.memory.checkBeforeUpdate: the current memory usage cannot be read on this host")
        }
        if let swap = m.swap, swap > 0, UInt64(swap) <= (memswUsage ?? usage) {
            throw RuntimeError("linux.resources.memory.checkBeforeUpdate: rejecting memory+swap limit \(swap) <= usage \(memswUsage ?? usage)")
        }
        if let limit = m.limit, limit > 0, UInt64(limit) <= usage {
            throw RuntimeError("linux.resources.memory.checkBeforeUpdate: rejecting memory limit \(limit) <= usage \(usage)")
        }
    }
}
