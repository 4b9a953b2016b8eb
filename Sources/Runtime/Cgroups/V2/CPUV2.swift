import OCI

/// v2 cpu controller: cpu.weight (from OCI's shares), cpu.max (quota and
/// period in one file), cpu.max.burst and cpu.idle.
enum CPUV2 {
    static let field = "linux.resources.cpu"

    static func needed(_ c: Resources.CPU) -> Bool {
        c.shares != nil || c.quota != nil || c.period != nil || c.burst != nil || c.idle != nil
            || c.realtimeRuntime != nil || c.realtimePeriod != nil
    }

    /// The conversion runc and crun use: shares [2, 262144] map onto weight [1, 10000].
    static func weight(shares s: UInt64) -> UInt64 { 1 + ((max(2, min(s, 262_144)) - 2) * 9999) / 262_142 }

    static func apply(_ c: Resources.CPU, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if c.realtimeRuntime != nil || c.realtimePeriod != nil {
            throw RuntimeError("\(field).realtimeRuntime/realtimePeriod: not available on cgroup v2")
        }
        if let s = c.shares { try w.write(d, "cpu.weight", String(weight(shares: s)), field: "\(field).shares") }
        if c.quota != nil || c.period != nil {
            // cpu.max holds both: the one not given keeps its value (an update of
            // the period alone must not lift the quota).
            let current = (FS.readTrimmed(d + "/cpu.max") ?? "max 100000").split(separator: " ")
            let quota = c.quota.map { $0 > 0 ? String($0) : "max" } ?? (current.first.map(String.init) ?? "max")
            let period = c.period.map(String.init) ?? (current.count > 1 ? String(current[1]) : "100000")
            try w.write(d, "cpu.max", "\(quota) \(period)", field: c.quota != nil ? "\(field).quota" : "\(field).period")
        }
        if let b = c.burst { try w.write(d, "cpu.max.burst", String(b), field: "\(field).burst") }
        if let i = c.idle { try w.write(d, "cpu.idle", String(i), field: "\(field).idle") }
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        let stat = CgroupFile.keyValues(d + "/cpu.stat")
        func v(_ k: String) -> UInt64 { stat.first { $0.0 == k }?.1 ?? 0 }
        s.cpuUsage.total = v("usage_usec") * 1000
        s.cpuUsage.user = v("user_usec") * 1000
        s.cpuUsage.kernel = v("system_usec") * 1000
        s.throttling = CgroupStats.Throttling(periods: v("nr_periods"), throttledPeriods: v("nr_throttled"),
                                              throttledTime: v("throttled_usec") * 1000)
    }
}
