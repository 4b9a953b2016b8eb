import Glibc

/// v2 freezer: cgroup.freeze, with cgroup.events telling when it took effect.
enum FreezerV2 {
    static func freeze(_ dir: String, _ frozen: Bool) throws(RuntimeError) {
        try Cgroups.writeKnob(dir, "cgroup.freeze", frozen ? "1" : "0")
        for _ in 0..<1000 {
            let events = (try? FS.readString(dir + "/cgroup.events")) ?? ""
            if events.includes("frozen \(frozen ? 1 : 0)") { return }
            usleep(1000)
        }
        throw RuntimeError("cgroup \(dir) did not \(frozen ? "freeze" : "thaw")")
    }

    static func isFrozen(_ dir: String) -> Bool { FS.readTrimmed(dir + "/cgroup.freeze") == "1" }
}
