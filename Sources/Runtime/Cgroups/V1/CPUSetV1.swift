import OCI

/// v1 cpuset controller: which CPUs and memory nodes the container may use.
enum CPUSetV1 {
    static func needed(_ c: Resources.CPU) -> Bool { c.cpus != nil || c.mems != nil }

    static func apply(_ c: Resources.CPU, dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        if let cpus = c.cpus { try w.write(d, "cpuset.cpus", cpus, field: "linux.resources.cpu.cpus") }
        if let mems = c.mems { try w.write(d, "cpuset.mems", mems, field: "linux.resources.cpu.mems") }
    }

    /// A new cpuset directory starts with empty cpus and mems, which makes adding
    /// a task fail with ENOSPC, unless its parent has `cgroup.clone_children`
    /// set: the kernel then copies the parent's at mkdir. A write costs in
    /// proportion to the siblings (the kernel's validate_change walks them all,
    /// and the scheduler domains are rebuilt): about 2 ms per create with 1500
    /// containers under one parent. So a parent below the hierarchy's root is
    /// marked once (markCloneChildren), and only what the kernel left empty is
    /// copied here.
    static func inherit(from parent: String, to dir: String) {
        for knob in ["cpuset.cpus", "cpuset.mems"] {
            if let own = FS.readTrimmed(dir + "/" + knob), !own.isEmpty { continue }
            if let v = FS.readTrimmed(parent + "/" + knob), !v.isEmpty {
                try? FS.writeExisting(dir + "/" + knob, v)
            }
        }
    }

    /// New children of `dir` get its cpus and mems from the kernel. Never
    /// asked of a hierarchy's root, whose other children are not ours.
    static func markCloneChildren(_ dir: String) {
        if FS.readTrimmed(dir + "/cgroup.clone_children") == "0" { try? FS.writeExisting(dir + "/cgroup.clone_children", "1") }
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        func v(_ f: String) -> UInt64 { CgroupFile.uint(d + "/cpuset." + f) ?? 0 }
        s.cpuset = CgroupStats.CPUSet(
            cpus: CgroupStats.expandList(FS.readTrimmed(d + "/cpuset.cpus")), cpuExclusive: v("cpu_exclusive"),
            mems: CgroupStats.expandList(FS.readTrimmed(d + "/cpuset.mems")), memHardwall: v("mem_hardwall"),
            memExclusive: v("mem_exclusive"), memoryMigrate: v("memory_migrate"), memorySpreadPage: v("memory_spread_page"),
            memorySpreadSlab: v("memory_spread_slab"), memoryPressure: v("memory_pressure"),
            schedLoadBalance: v("sched_load_balance"),
            schedRelaxDomainLevel: CgroupFile.int(d + "/cpuset.sched_relax_domain_level") ?? 0)
    }
}
