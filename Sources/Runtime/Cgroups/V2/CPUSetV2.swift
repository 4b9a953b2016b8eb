import OCI

/// v2 cpuset controller: cpuset.cpus and cpuset.mems.
enum CPUSetV2 {
    static func needed(_ c: Resources.CPU) -> Bool { c.cpus != nil || c.mems != nil }

    static func apply(_ c: Resources.CPU, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if let cpus = c.cpus { try w.write(d, "cpuset.cpus", cpus, field: "linux.resources.cpu.cpus") }
        if let mems = c.mems { try w.write(d, "cpuset.mems", mems, field: "linux.resources.cpu.mems") }
    }
}
