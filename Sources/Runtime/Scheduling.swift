import CBerth
import Glibc
import OCI

/// process.ioPriority, process.scheduler and process.execCPUAffinity
/// (config.md, runtime-spec 1.2): applied by the process itself just before execve.
enum Scheduling {
    static let ioClasses = ["IOPRIO_CLASS_RT": Int32(1), "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3]
    static let policies: [String: UInt32] = [
        "SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6,
    ]
    static let flags: [String: UInt64] = [
        "SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02, "SCHED_FLAG_DL_OVERRUN": 0x04,
        "SCHED_FLAG_KEEP_POLICY": 0x08, "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
        "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40,
    ]

    static func validate(_ p: Process) throws(RuntimeError) {
        if let io = p.ioPriority {
            guard ioClasses[io.class] != nil else { throw RuntimeError("config.json: process.ioPriority.class: unknown class \(io.class.debugDescription)") }
            if let l = io.priority, l < 0 || l > 7 { throw RuntimeError("config.json: process.ioPriority.priority \(l) is outside 0..7") }
        }
        if let s = p.scheduler {
            guard policies[s.policy] != nil else { throw RuntimeError("config.json: process.scheduler.policy: unknown policy \(s.policy.debugDescription)") }
            for f in s.flags ?? [] where flags[f] == nil {
                throw RuntimeError("config.json: process.scheduler.flags: unknown flag \(f.debugDescription)")
            }
        }
        if let a = p.execCPUAffinity {
            if let i = a.initial { _ = try cpuList(i, field: "initial") }
            if let f = a.final { _ = try cpuList(f, field: "final") }
        }
    }

    /// "0-3,6" → [0, 1, 2, 3, 6]
    static func cpuList(_ text: String, field: String) throws(RuntimeError) -> [Int32] {
        var cpus: [Int32] = []
        for part in text.split(separator: ",") {
            let range = part.split(separator: "-", omittingEmptySubsequences: false)
            guard range.count <= 2, let lo = Int32(range[0].trimmingSpaces), let hi = Int32((range.last ?? "").trimmingSpaces), lo <= hi, lo >= 0 else {
                throw RuntimeError("config.json: process.execCPUAffinity.\(field): invalid CPU list \(text.debugDescription)")
            }
            cpus += Array(lo...hi)
        }
        if cpus.isEmpty { throw RuntimeError("config.json: process.execCPUAffinity.\(field) is empty") }
        return cpus
    }

    static func setAffinity(_ list: String?, field: String) throws(RuntimeError) {
        guard let list else { return }
        let cpus = try cpuList(list, field: field)
        try check("sched_setaffinity \(list)") { cpus.withUnsafeBufferPointer { cb_set_affinity($0.baseAddress, Int32($0.count)) } }
    }

    static func apply(_ p: Process) throws(RuntimeError) {
        if let io = p.ioPriority {
            try check("ioprio_set \(io.class)") { cb_ioprio_set(ioClasses[io.class]!, io.priority ?? 0) }
        }
        if let s = p.scheduler {
            let f = (s.flags ?? []).reduce(UInt64(0)) { $0 | flags[$1]! }
            try check("sched_setattr \(s.policy)") {
                cb_sched_setattr(policies[s.policy]!, f, s.nice ?? 0, UInt32(max(0, s.priority ?? 0)),
                                 s.runtime ?? 0, s.deadline ?? 0, s.period ?? 0)
            }
        }
        try setAffinity(p.execCPUAffinity?.final, field: "final")
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
