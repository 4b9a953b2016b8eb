import OCI

/// v1 pids controller: pids.max (a limit of 0 or below means no limit).
enum PidsV1 {
    static func apply(_ p: Resources.Pids, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        try w.write(d, "pids.max", p.limit > 0 ? String(p.limit) : "max", field: "linux.resources.pids.limit")
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        s.pidsCurrent = CgroupFile.uint(d + "/pids.current") ?? 0
        // runc reports "no limit" as 0.
        let max = CgroupFile.uint(d + "/pids.max") ?? 0
        s.pidsLimit = max == UInt64.max ? 0 : max
    }
}
