import OCI

/// v1 hugetlb controller: hugetlb.<size>.limit_in_bytes per page size.
enum HugetlbV1 {
    static func apply(_ limits: [Resources.HugepageLimit], dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        for l in limits {
            try Cgroups.validatePageSize(l.pageSize)
            try w.write(d, "hugetlb.\(l.pageSize).limit_in_bytes", String(l.limit),
                        field: "linux.resources.hugepageLimits[\(l.pageSize)]")
        }
    }

    static func stats(dir d: String, into s: inout CgroupStats) {
        for size in Cgroups.hostPageSizes() {
            let p = d + "/hugetlb.\(size)."
            guard FS.exists(p + "usage_in_bytes") else { continue }
            s.hugetlb.append((size, CgroupStats.Hugetlb(usage: CgroupFile.uint(p + "usage_in_bytes") ?? 0,
                                                        max: CgroupFile.uint(p + "max_usage_in_bytes") ?? 0,
                                                        failcnt: CgroupFile.uint(p + "failcnt") ?? 0)))
        }
    }
}
