import Glibc

/// v1 freezer controller: pause and resume.
enum FreezerV1 {
    static func freeze(_ d: String, _ frozen: Bool) throws(RuntimeError) {
        try Cgroups.writeKnob(d, "freezer.state", frozen ? "FROZEN" : "THAWED")
        // FREEZING is transient; wait until the kernel reports the final state.
        for _ in 0..<1000 {
            let s = FS.readTrimmed(d + "/freezer.state") ?? ""
            if s == (frozen ? "FROZEN" : "THAWED") { return }
            if frozen { try Cgroups.writeKnob(d, "freezer.state", "FROZEN") }
            usleep(1000)
        }
        throw RuntimeError("cgroup \(d) did not reach \(frozen ? "FROZEN" : "THAWED")")
    }

    static func isFrozen(_ d: String) -> Bool { FS.readTrimmed(d + "/freezer.state") == "FROZEN" }
}
