import CBerth
import Glibc

/// Small file helpers over raw fds: the runtime has no Foundation.
enum FS {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func lstatMode(_ path: String) -> mode_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
    }

    static func readBytes(_ path: String, limit: Int = 64 << 20) throws(RuntimeError) -> [UInt8] {
        let fd = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { throw RuntimeError.sys("open \(path)") }
        defer { close(fd) }
        return try readAll(fd, what: path, limit: limit)
    }

    static func readAll(_ fd: Int32, what: String, limit: Int = 64 << 20) throws(RuntimeError) -> [UInt8] {
        // Sized from fstat where it tells (proc files report 0): small reads keep
        // the runtime's peak memory down, which is one of its targets.
        var st = stat()
        let hint = fstat(fd, &st) == 0 && st.st_size > 0 ? Int(st.st_size) + 1 : 4096
        var out: [UInt8] = []
        out.reserveCapacity(min(hint, limit))
        var buf = [UInt8](repeating: 0, count: min(hint, 16384))
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.sys("read \(what)")
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > limit { throw RuntimeError("\(what): larger than \(limit) bytes") }
        }
        return out
    }

    static func readString(_ path: String) throws(RuntimeError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    static func readTrimmed(_ path: String) -> String? {
        guard let s = try? readString(path) else { return nil }
        var t = Substring(s)
        while let l = t.last, l == "\n" || l == " " { t = t.dropLast() }
        return String(t)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], what: String) throws(RuntimeError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.sys("write \(what)")
            }
            off += n
        }
    }

    /// Writes to an existing file (cgroup knobs, /proc files) without creating or truncating it.
    static func writeExisting(_ path: String, _ text: String) throws(RuntimeError) {
        let fd = cb_open(path, O_WRONLY | O_CLOEXEC, 0)
        if fd < 0 { throw RuntimeError.sys("open \(path)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, bytes.count) }
        if n < 0 { throw RuntimeError.sys("write \(text.debugDescription) to \(path)") }
    }

    /// Writes a whole file atomically: a temp file beside it, then rename. A
    /// reader never sees half a state file or pid file. No fsync: the state
    /// lives in /run (tmpfs) and does not outlive a reboot anyway, and an fsync
    /// per state write costs a create a millisecond on a disk-backed --root.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(RuntimeError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let tmp = (dir.isEmpty ? "" : dir + "/") + "." + base + ".tmp\(getpid())"
        let fd = cb_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, Int32(mode))
        if fd < 0 { throw RuntimeError.sys("create \(tmp)") }
        do {
            try writeAll(fd, bytes, what: tmp)
            close(fd)
            try check("rename \(tmp) to \(path)") { rename(tmp, path) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
    }

    static func mkdirAll(_ path: String, mode: mode_t = 0o755) throws(RuntimeError) {
        if isDirectory(path) { return }
        if mkdir(path, mode) == 0 { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST { throw RuntimeError.sys("mkdir \(prefix)") }
        }
    }

    /// Removes a directory tree without following symlinks (state dirs, failed bundles).
    static func removeAll(_ path: String) {
        guard let kind = lstatMode(path) else { return }
        if kind != S_IFDIR { unlink(path); return }
        if let d = opendir(path) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name == "." || name == ".." { continue }
                removeAll(path + "/" + name)
            }
            closedir(d)
        }
        rmdir(path)
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The subdirectories of `path`, in no particular order. The type comes from
    /// the directory entry (cgroupfs and most file systems fill it in), so a
    /// cgroup's dozens of files cost no stat each; DT_UNKNOWN falls back to stat.
    static func listSubdirectories(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let type = e.pointee.d_type
            if type != UInt8(DT_DIR) && type != UInt8(DT_UNKNOWN) { continue }
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            if type == UInt8(DT_UNKNOWN) && !isDirectory(path + "/" + name) { continue }
            names.append(name)
        }
        return names
    }

    /// Joins `path` onto `root` lexically, never climbing above root ("../.." stops at root).
    static func join(_ root: String, _ path: String) -> String {
        var parts: [Substring] = []
        for p in path.split(separator: "/") {
            if p == "." || p.isEmpty { continue }
            if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(p)
        }
        let r = root.hasSuffix("/") ? String(root.dropLast()) : root
        return parts.isEmpty ? (r.isEmpty ? "/" : r) : r + "/" + parts.joined(separator: "/")
    }

    static func cleanAbsolute(_ path: String) -> String { join("", path) }

    static func dirname(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return cleanAbsolute(path) }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return path }
        return join(String(cString: buf), path)
    }

    static func realpath(_ path: String) -> String? {
        guard let p = Glibc.realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
