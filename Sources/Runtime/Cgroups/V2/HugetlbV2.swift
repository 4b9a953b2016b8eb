import OCI

/// v2 hugetlb controller: hugetlb.<size>.max per page size.
enum HugetlbV2 {
    static func apply(_ limits: [Resources.HugepageLimit], dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        for l in limits {
            try Cgroups.validatePageSize(l.pageSize)
            try w.write(d, "hugetlb.\(l.pageSize).max", String(l.limit), field: "linux.resources.hugepageLimits[\(l.pageSize)]")
        }
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        for size in Cgroups.hostPageSizes() {
            let p = d + "/hugetlb.\(size)."
            guard let usage = CgroupFile.uint(p + "current") else { continue }
            s.hugetlb.append((size, CgroupStats.Hugetlb(usage: usage, max: 0,
                                                        failcnt: CgroupFile.value(p + "events", key: "max") ?? 0)))
        }
    }
}
