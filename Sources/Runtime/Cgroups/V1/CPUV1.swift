import OCI

/// v1 cpu controller: CFS shares, quota, period and burst, the realtime
/// budget and cpu.idle (kernels 5.15+ have it on v1 too).
enum CPUV1 {
    static let field = "linux.resources.cpu"

    static func needed(_ c: Resources.CPU) -> Bool {
        c.shares != nil || c.quota != nil || c.period != nil || c.burst != nil
            || c.realtimeRuntime != nil || c.realtimePeriod != nil || c.idle != nil
    }

    static func apply(_ c: Resources.CPU, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if let s = c.shares { try w.write(d, "cpu.shares", String(s), field: "\(field).shares") }
        // Period before quota: the kernel checks the quota against the period it has.
        if let p = c.period { try w.write(d, "cpu.cfs_period_us", String(p), field: "\(field).period") }
        if let q = c.quota { try w.write(d, "cpu.cfs_quota_us", String(q), field: "\(field).quota") }
        if let b = c.burst { try w.write(d, "cpu.cfs_burst_us", String(b), field: "\(field).burst") }
        if let p = c.realtimePeriod { try w.write(d, "cpu.rt_period_us", String(p), field: "\(field).realtimePeriod") }
        if let r = c.realtimeRuntime { try w.write(d, "cpu.rt_runtime_us", String(r), field: "\(field).realtimeRuntime") }
        // After the shares: the kernel refuses new shares for an idle group.
        if let i = c.idle { try w.write(d, "cpu.idle", String(i), field: "\(field).idle") }
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        let stat = CgroupFile.keyValues(d + "/cpu.stat")
        func v(_ k: String) -> UInt64 { stat.first { $0.0 == k }?.1 ?? 0 }
        s.throttling = CgroupStats.Throttling(periods: v("nr_periods"), throttledPeriods: v("nr_throttled"),
                                              throttledTime: v("throttled_time"))
    }
}
