import CBerth
import Glibc
import OCI

/// process.rlimits: names per getrlimit(2), applied with prlimit before the
/// user switch (raising a hard limit needs CAP_SYS_RESOURCE).
enum Rlimits {
    static let table: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    static func validate(_ limits: [Rlimit]) throws(RuntimeError) {
        var seen = Set<String>()
        for l in limits {
            guard table[l.type] != nil else { throw RuntimeError("process.rlimits: unknown rlimit type \(l.type.debugDescription)") }
            guard seen.insert(l.type).inserted else { throw RuntimeError("process.rlimits: duplicate \(l.type)") }
            guard l.soft <= l.hard else { throw RuntimeError("process.rlimits: \(l.type) soft limit \(l.soft) is above its hard limit \(l.hard)") }
        }
    }

    static func apply(_ limits: [Rlimit]) throws(RuntimeError) {
        for l in limits {
            try check("setrlimit \(l.type)") { cb_prlimit(table[l.type]!, l.soft, l.hard) }
        }
    }
}
