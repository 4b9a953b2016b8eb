/// Huge page size names as the hugetlb controller spells them ("2MB", "1GB").
extension Cgroups {
    static func validatePageSize(_ s: String) throws(RuntimeError) {
        // runtime-spec schema: ^[1-9][0-9]*[KMG]B$
        guard s.count >= 3, s.hasSuffix("B"), let unit = s.dropLast().last, "KMG".contains(unit),
              let first = s.first, first != "0", UInt64(s.dropLast(2)) != nil
        else { throw RuntimeError("linux.resources.hugepageLimits: invalid pageSize \(s.debugDescription) (expected e.g. \"2MB\")") }
    }

    /// The sizes this host has (/sys/kernel/mm/hugepages/hugepages-2048kB → "2MB"), for stats.
    static func hostPageSizes() -> [String] {
        FS.listDirectory("/sys/kernel/mm/hugepages").compactMap { name in
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                  let kb = UInt64(name.dropFirst(10).dropLast(2)), kb > 0 else { return nil }
            if kb % (1 << 20) == 0 { return "\(kb >> 20)GB" }
            if kb % (1 << 10) == 0 { return "\(kb >> 10)MB" }
            return "\(kb)KB"
        }
    }
}
