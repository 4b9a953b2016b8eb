import CArchive
import Glibc

/// A full copy of a directory tree for the copying snapshotter: owners, modes
/// (setuid included: chmod after chown, which clears it), xattrs, atime/mtime
/// (directories after their content), hardlinks (one inode, many names),
/// symlinks, device nodes, fifos and sockets. Data is copied in the kernel
/// (copy_file_range, reflinks where the filesystem has them).
public struct TreeCopy {
    private struct Inode: Hashable { let dev: UInt64; let ino: UInt64 }
    private let destinationRoot: Int32
    /// The first copied name of each hardlinked source inode, relative to the destination root.
    private var links: [Inode: String] = [:]
    private var buffer: UnsafeMutableRawBufferPointer?

    /// Copies the contents and the attributes of `source` into the existing directory `destination`.
    public static func copy(from source: String, to destination: String) throws {
        let src = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard src >= 0 else { throw SnapshotError.errno("open \(source)") }
        defer { close(src) }
        let dst = open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dst >= 0 else { throw SnapshotError.errno("open \(destination)") }
        defer { close(dst) }
        var copier = TreeCopy(destinationRoot: dst)
        defer { copier.buffer?.deallocate() }
        try copier.copyContents(src, dst, relative: "", display: source)
        var st = stat()
        guard fstat(src, &st) == 0 else { throw SnapshotError.errno("stat \(source)") }
        try copier.copyAttributes(st, from: .fd(src), to: .fd(dst), display: source)
    }

    private init(destinationRoot: Int32) { self.destinationRoot = destinationRoot }

    /// How attributes are reached: through an fd (files, directories) or by name in a
    /// directory without following (symlinks, device nodes: opening those is wrong).
    private enum Handle {
        case fd(Int32)
        case at(Int32, String)

        /// For the xattr calls that take a path: the directory's magic link plus the name,
        /// used with the l* variants so the last component is not followed.
        var procPath: String? {
            if case .at(let dir, let name) = self { return "/proc/self/fd/\(dir)/\(name)" }
            return nil
        }
    }

    private mutating func copyContents(_ src: Int32, _ dst: Int32, relative: String, display: String) throws {
        for name in try FileTree.names(inDirectory: src) {
            let path = display + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SnapshotError.errno("stat \(path)") }
            let type = st.st_mode & S_IFMT
            if type != S_IFDIR && st.st_nlink > 1 {
                let key = Inode(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
                if let first = links[key] {
                    guard linkat(destinationRoot, first, dst, name, 0) == 0 else { throw SnapshotError.errno("link \(path)") }
                    continue
                }
                links[key] = rel
            }
            switch type {
            case S_IFDIR:
                guard mkdirat(dst, name, 0o700) == 0 else { throw SnapshotError.errno("create directory for \(path)") }
                let s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard s >= 0 else { throw SnapshotError.errno("open \(path)") }
                defer { close(s) }
                let d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard d >= 0 else { throw SnapshotError.errno("open copy of \(path)") }
                defer { close(d) }
                try copyContents(s, d, relative: rel, display: path)
                try copyAttributes(st, from: .fd(s), to: .fd(d), display: path)
            case S_IFREG:
                let s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard s >= 0 else { throw SnapshotError.errno("open \(path)") }
                defer { close(s) }
                let d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard d >= 0 else { throw SnapshotError.errno("create copy of \(path)") }
                defer { close(d) }
                try copyData(s, d, size: Int(st.st_size), display: path)
                try copyAttributes(st, from: .fd(s), to: .fd(d), display: path)
            case S_IFLNK:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(src, name, &target, target.count - 1)
                guard n >= 0 else { throw SnapshotError.errno("read link \(path)") }
                target[n] = 0
                guard symlinkat(target, dst, name) == 0 else { throw SnapshotError.errno("create link for \(path)") }
                try copyAttributes(st, from: .at(src, name), to: .at(dst, name), display: path)
            default:
                // Character and block devices, fifos, sockets: a new node with the same numbers.
                guard mknodat(dst, name, (st.st_mode & S_IFMT) | 0o600, st.st_rdev) == 0 else {
                    throw SnapshotError.errno("create node for \(path)")
                }
                try copyAttributes(st, from: .at(src, name), to: .at(dst, name), display: path)
            }
        }
    }

    private mutating func copyData(_ src: Int32, _ dst: Int32, size: Int, display: String) throws {
        var left = size
        while left > 0 {
            let n = ca_copy_file_range(src, dst, min(left, 1 << 30))
            if n > 0 { left -= n; continue }
            if n == 0 { return }  // the file shrank while being copied
            let err = errno
            if err == EINTR { continue }
            // Across filesystems on old kernels, or a filesystem without support: plain copy.
            guard err == EXDEV || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP else {
                throw SnapshotError.errno("copy \(display)", err)
            }
            if buffer == nil { buffer = .allocate(byteCount: 1 << 20, alignment: 4096) }
            let buf = buffer!
            while true {
                let r = read(src, buf.baseAddress, buf.count)
                if r < 0 && errno == EINTR { continue }
                guard r >= 0 else { throw SnapshotError.errno("read \(display)") }
                if r == 0 { return }
                var off = 0
                while off < r {
                    let w = write(dst, buf.baseAddress! + off, r - off)
                    if w < 0 && errno == EINTR { continue }
                    guard w > 0 else { throw SnapshotError.errno("write copy of \(display)") }
                    off += w
                }
            }
        }
    }

    /// Owner, then mode (chown clears setuid/setgid), then xattrs, then times last
    /// (setting the others would not change mtime, but keep the order obvious).
    private func copyAttributes(_ st: stat, from src: Handle, to dst: Handle, display: String) throws {
        let isLink = st.st_mode & S_IFMT == S_IFLNK
        switch dst {
        case .fd(let fd):
            guard fchown(fd, st.st_uid, st.st_gid) == 0 else { throw SnapshotError.errno("chown copy of \(display)") }
            guard fchmod(fd, st.st_mode & 0o7777) == 0 else { throw SnapshotError.errno("chmod copy of \(display)") }
        case .at(let dir, let name):
            guard fchownat(dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SnapshotError.errno("chown copy of \(display)")
            }
            // Symlinks have no mode of their own on Linux.
            if !isLink {
                guard fchmodat(dir, name, st.st_mode & 0o7777, 0) == 0 else { throw SnapshotError.errno("chmod copy of \(display)") }
            }
        }
        try copyXattrs(from: src, to: dst, display: display)
        var times = [st.st_atim, st.st_mtim]
        switch dst {
        case .fd(let fd):
            guard futimens(fd, &times) == 0 else { throw SnapshotError.errno("set times of copy of \(display)") }
        case .at(let dir, let name):
            guard utimensat(dir, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SnapshotError.errno("set times of copy of \(display)")
            }
        }
    }

    private func copyXattrs(from src: Handle, to dst: Handle, display: String) throws {
        func list(_ buf: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
            switch src {
            case .fd(let fd): return flistxattr(fd, buf, size)
            case .at: return llistxattr(src.procPath!, buf, size)
            }
        }
        var size = list(nil, 0)
        if size < 0 {
            if errno == ENOTSUP || errno == EOPNOTSUPP { return }
            throw SnapshotError.errno("list xattrs of \(display)")
        }
        guard size > 0 else { return }
        var names = [CChar](repeating: 0, count: size)
        size = list(&names, size)
        guard size >= 0 else { throw SnapshotError.errno("list xattrs of \(display)") }
        var start = 0
        while start < size {
            var end = start
            while end < size && names[end] != 0 { end += 1 }
            let name = names[start..<end].withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0), as: UTF8.self) }
            start = end + 1
            var value = [UInt8](repeating: 0, count: 65536)
            let n: Int
            switch src {
            case .fd(let fd): n = fgetxattr(fd, name, &value, value.count)
            case .at: n = lgetxattr(src.procPath!, name, &value, value.count)
            }
            guard n >= 0 else {
                if errno == ENODATA { continue }
                throw SnapshotError.errno("read xattr \(name) of \(display)")
            }
            let rc: Int32
            switch dst {
            case .fd(let fd): rc = fsetxattr(fd, name, value, n, 0)
            case .at: rc = lsetxattr(dst.procPath!, name, value, n, 0)
            }
            guard rc == 0 else { throw SnapshotError.errno("set xattr \(name) on copy of \(display)") }
        }
    }
}
