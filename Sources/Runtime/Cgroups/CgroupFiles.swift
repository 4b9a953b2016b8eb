import Glibc

/// Reading and removing cgroup files and directories, shared by both drivers.
extension Cgroups {
    static func parsePids(_ text: String) -> [pid_t] {
        text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// rmdir with retries: the kernel may still be releasing the last exiting task.
    static func removeDirectory(_ dir: String) throws(RuntimeError) {
        for attempt in 0..<50 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            if errno != EBUSY || attempt == 49 { throw RuntimeError.sys("remove cgroup \(dir)") }
            usleep(10_000)
        }
    }

    /// Removes `path` and its now-empty parents up to (not including) the hierarchy root,
    /// so that a derived path like /berth/abc leaves no empty /berth behind.
    static func removeTree(root: String, path: String) throws(RuntimeError) {
        let full = root + path
        // Children first (a container may have made sub-cgroups of its own).
        for name in FS.listSubdirectories(full) {
            try removeTree(root: root, path: path + "/" + name)
        }
        try removeDirectory(full)
    }

    /// One write without journaling, for the knobs that are not limits
    /// (cgroup.procs, freezer state).
    /// The calling process, single-threaded, joins through each `tasks` file
    /// (Cgroup.threadJoinFiles); before it enters any namespace, while the
    /// paths are still the host's.
    static func joinAsThread(_ taskFiles: [String]) throws(RuntimeError) {
        for f in taskFiles {
            do { try FS.writeExisting(f, "0") } catch { throw RuntimeError("join cgroup \(f): \(error.message)") }
        }
    }

    static func writeKnob(_ dir: String, _ file: String, _ value: String) throws(RuntimeError) {
        let p = dir + "/" + file
        guard FS.exists(p) else { throw RuntimeError("cgroup file \(p) does not exist (is the controller enabled on this host?)") }
        try FS.writeExisting(p, value)
    }
}

/// Parsers for the formats cgroup files use. A file that is missing or does not
/// parse reads as nil: stats report zero for what the host does not have.
enum CgroupFile {
    /// A single number; "max" (v2's "no limit") is UInt64.max, as runc reads it.
    static func uint(_ path: String) -> UInt64? {
        guard let t = FS.readTrimmed(path) else { return nil }
        return t == "max" ? UInt64.max : UInt64(t)
    }

    static func int(_ path: String) -> Int64? { FS.readTrimmed(path).flatMap { Int64($0) } }

    /// "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control), in file order.
    static func keyValues(_ path: String) -> [(String, UInt64)] {
        (try? FS.readString(path)).map(keyValuesText) ?? []
    }

    /// keyValues over text already read.
    static func keyValuesText(_ text: String) -> [(String, UInt64)] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 2, let v = UInt64(f[1]) else { return nil }
            return (String(f[0]), v)
        }
    }

    static func value(_ path: String, key: String) -> UInt64? {
        keyValues(path).first { $0.0 == key }?.1
    }

    /// Whitespace-separated numbers (cpuacct.usage_percpu).
    static func numbers(_ path: String) -> [UInt64] {
        guard let t = FS.readTrimmed(path) else { return [] }
        return t.split(separator: " ").compactMap { UInt64($0) }
    }

    /// The line of a per-device or per-interface file ("8:0 1048576", "eth0 5",
    /// "mlx4_0 hca_handle=2 …") whose first field is `key`.
    static func line(_ path: String, key: String) -> String? {
        guard let text = try? FS.readString(path) else { return nil }
        for line in text.split(separator: "\n") where line.split(separator: " ").first.map(String.init) == key {
            return String(line)
        }
        return nil
    }
}
