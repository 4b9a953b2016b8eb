import CArchive
import Glibc

/// Directory-tree operations the snapshotters need, done with fds relative to a
/// parent (never re-resolving a path that could change underneath) and never
/// crossing into another filesystem: a mount left inside a snapshot directory
/// must not have its contents removed or counted.
public enum FileTree {
    /// The names in the directory open at `fd` (without "." and "..").
    static func names(inDirectory fd: Int32) throws -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let err = errno
            if copy >= 0 { close(copy) }
            throw SnapshotError.errno("read directory", err)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Removes `path` and everything under it; a missing path is not an error.
    static func remove(_ path: String) throws {
        let (parent, name) = split(path)
        let dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else {
            if errno == ENOENT { return }
            throw SnapshotError.errno("open \(parent)")
        }
        defer { close(dirfd) }
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw SnapshotError.errno("stat \(path)")
        }
        try removeEntry(dirfd, name, device: st.st_dev, display: path)
    }

    private static func removeEntry(_ dirfd: Int32, _ name: String, device: dev_t, display: String) throws {
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw SnapshotError.errno("stat \(display)")
        }
        if st.st_mode & S_IFMT == S_IFDIR {
            guard st.st_dev == device else {
                throw SnapshotError(.system, "remove \(display): a filesystem is mounted there")
            }
            let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw SnapshotError.errno("open \(display)") }
            defer { close(fd) }
            for child in try names(inDirectory: fd) {
                try removeEntry(fd, child, device: device, display: display + "/" + child)
            }
            if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                throw SnapshotError.errno("remove \(display)")
            }
        } else if unlinkat(dirfd, name, 0) != 0 && errno != ENOENT {
            throw SnapshotError.errno("remove \(display)")
        }
    }

    /// Disk usage of the tree at `path` as du counts it: allocated blocks, each
    /// hardlinked inode once, directories included.
    public static func usage(_ path: String) throws -> SnapshotUsage {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError.errno("open \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SnapshotError.errno("stat \(path)") }
        var seen = Set<UInt64>()
        var usage = SnapshotUsage(size: Int64(st.st_blocks) * 512, inodes: 1)
        try addUsage(fd, device: st.st_dev, seen: &seen, into: &usage, display: path)
        return usage
    }

    private static func addUsage(_ dirfd: Int32, device: dev_t, seen: inout Set<UInt64>, into usage: inout SnapshotUsage, display: String) throws {
        for name in try names(inDirectory: dirfd) {
            var st = stat()
            guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            guard st.st_dev == device else { continue }
            if st.st_nlink > 1 && st.st_mode & S_IFMT != S_IFDIR {
                guard seen.insert(UInt64(st.st_ino)).inserted else { continue }
            }
            usage.size += Int64(st.st_blocks) * 512
            usage.inodes += 1
            if st.st_mode & S_IFMT == S_IFDIR {
                let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw SnapshotError.errno("open \(display)/\(name)") }
                defer { close(fd) }
                try addUsage(fd, device: device, seen: &seen, into: &usage, display: display + "/" + name)
            }
        }
    }

    /// A new, empty directory `<parent>/<prefix>XXXXXX` (mode 0700).
    static func makeTemporaryDirectory(in parent: String, prefix: String) throws -> String {
        var template = Array((parent + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buf -> String? in
            guard let p = mkdtemp(buf.baseAddress!) else { return nil }
            return String(cString: p)
        }
        guard let made else { throw SnapshotError.errno("create a directory in \(parent)") }
        return made
    }

    /// mkdir -p with `mode` for the directories it creates.
    static func makeDirectories(_ path: String, mode: mode_t = 0o711) throws {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw SnapshotError.errno("create \(current)")
            }
        }
    }

    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let parent = String(path[..<slash])
        return (parent.isEmpty ? "/" : parent, String(path[path.index(after: slash)...]))
    }
}
