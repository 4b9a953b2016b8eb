/// v1 cpuacct controller: usage only (nothing to limit).
enum CPUAcctV1 {
    /// cpuacct.stat counts in USER_HZ ticks; runc turns them into nanoseconds
    /// with 100 ticks a second, and so do we.
    static let nanosPerTick: UInt64 = 1_000_000_000 / 100

    static func stats(dir d: String, into s: inout CgroupStats) {
        s.cpuUsage.total = CgroupFile.uint(d + "/cpuacct.usage") ?? 0
        s.cpuUsage.percpu = CgroupFile.numbers(d + "/cpuacct.usage_percpu")
        let ticks = FS.readTrimmed(d + "/cpuacct.stat").map(CgroupFile.keyValuesText) ?? []
        s.cpuUsage.user = (ticks.first { $0.0 == "user" }?.1 ?? 0) * nanosPerTick
        s.cpuUsage.kernel = (ticks.first { $0.0 == "system" }?.1 ?? 0) * nanosPerTick
        // "cpu user system" then one line per cpu.
        if let all = try? FS.readString(d + "/cpuacct.usage_all") {
            for line in all.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count == 3, let user = UInt64(f[1]), let system = UInt64(f[2]) else { continue }
                s.cpuUsage.percpuUser.append(user)
                s.cpuUsage.percpuKernel.append(system)
            }
        }
    }
}
