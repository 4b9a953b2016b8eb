import OCI

/// v2 pids controller: pids.max (a limit of 0 or below means no limit).
enum PidsV2 {
    static func apply(_ p: Resources.Pids, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        try w.write(d, "pids.max", p.limit > 0 ? String(p.limit) : "max", field: "linux.resources.pids.limit")
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        if let current = CgroupFile.uint(d + "/pids.current") {
            s.pidsCurrent = current
        } else {
            // Without the controller, count the members as runc does.
            s.pidsCurrent = UInt64(Cgroups.parsePids((try? FS.readString(d + "/cgroup.procs")) ?? "").count)
        }
        // runc reports "no limit" as 0.
        let max = CgroupFile.uint(d + "/pids.max") ?? 0
        s.pidsLimit = max == UInt64.max ? 0 : max
    }
}
