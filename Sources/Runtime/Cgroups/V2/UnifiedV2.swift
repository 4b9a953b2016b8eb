/// linux.resources.unified: cgroup v2 files written as given, by name.
enum UnifiedV2 {
    static func apply(_ values: [String: String], dir d: String, _ w: KnobWriter) throws(RuntimeError) {
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            guard !k.includes("/"), !k.hasPrefix("."), !k.isEmpty else {
                throw RuntimeError("linux.resources.unified: invalid key \(k.debugDescription)")
            }
            try w.write(d, k, v, field: "linux.resources.unified[\(k)]")
        }
    }
}
