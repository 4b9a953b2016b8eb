import Glibc

/// Where the time of one operation went, step by step, for berthd's debug log
/// ("container started" steps="net=0.1 rootfs=0.9 … start=2.3"): the way to
/// profile a start or an exit without strace. Costs two clock reads a step.
struct StepTimes {
    private var last = StepTimes.nanos()
    private var steps: [(String, Int64)] = []

    /// Ends the step that began at the previous mark (or at creation) under `name`.
    mutating func mark(_ name: String) {
        let now = StepTimes.nanos()
        steps.append((name, now - last))
        last = now
    }

    /// "name=ms name=ms …", milliseconds with one decimal.
    var text: String {
        steps.map { name, ns in
            let tenths = (ns + 50_000) / 100_000
            return "\(name)=\(tenths / 10).\(tenths % 10)"
        }.joined(separator: " ")
    }

    static func nanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
