import CArchive
import Glibc

/// Writes the entries of a layer into a directory (an active snapshot's upper
/// directory, or a full tree for the copying snapshotter), with these rules:
///
/// Containment — nothing is ever created, changed or removed outside the root:
/// - names are cleaned lexically as if the root were "/": a leading "/" and "."
///   components are dropped, ".." never climbs above the root (`/../../etc/x` is `etc/x`);
/// - every parent directory is opened with openat2(RESOLVE_IN_ROOT), so a symlink
///   in the path (even an absolute one or one full of "..") resolves inside the
///   root as it would inside a container; on kernels without openat2 a symlink
///   in a parent path is refused instead;
/// - the last component is never followed: an existing entry there (a symlink
///   planted by an earlier entry included) is replaced, not written through;
/// - a hardlink's target is resolved the same way, so it can only name a file
///   inside the root (a link to `/etc/shadow` means `<root>/etc/shadow`, and fails
///   unless the layer itself has that file);
/// - `trusted.overlay.*` xattrs in the archive are dropped: only the unpacker
///   decides what is opaque or redirected in an overlay.
///
/// Attributes — owner (when running as root), mode with setuid/setgid/sticky (set
/// after chown, which clears them), xattrs, mtime/atime; directories get their
/// times at the very end, after everything inside them was written. Device
/// nodes, fifos, symlinks and hardlinks are created as such.
final class LayerExtractor {
    private let root: String
    private let rootFD: Int32
    private let options: UnpackOptions
    private let isRoot = geteuid() == 0
    /// Paths this layer created: whiteouts only hide lower layers, so they leave these alone.
    private var created = Set<String>()
    private var directoryTimes: [(path: String, atime: timespec, mtime: timespec)] = []
    /// The last parent directory opened (entries come grouped by directory).
    /// Invalidated whenever something is removed, since that can change what a
    /// path names; the fd itself stays open until the next lookup, as the entry
    /// being applied still uses it.
    private var cachedParent: (path: String, fd: Int32)?
    private var cachedParentValid = false
    private var hasOpenat2 = true

    init(root: String, options: UnpackOptions) throws {
        self.root = root
        self.options = options
        rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw UnpackError.errno("open \(root)") }
    }

    deinit {
        dropCachedParent()
        close(rootFD)
    }

    /// Applies every entry; returns how many there were.
    func extract(_ reader: LayerReader) throws -> Int {
        var count = 0
        while let entry = try reader.nextEntry() {
            try apply(entry, reader)
            count += 1
        }
        try setDirectoryTimes()
        return count
    }

    // MARK: entries

    private func apply(_ entry: OpaquePointer, _ reader: LayerReader) throws {
        let rawName = LayerExtractor.string(archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry))
        let components = LayerExtractor.clean(rawName)
        let type = archive_entry_filetype(entry) & UInt32(Glibc.S_IFMT)
        guard let name = components.last else {
            // "./": the root directory itself.
            if type == UInt32(Glibc.S_IFDIR) { try setAttributes(entry, .fd(rootFD), display: rawName, directory: "") }
            return
        }
        let parentPath = components.dropLast().joined(separator: "/")
        if name.hasPrefix(".wh.") {
            return try whiteout(name: name, in: Array(components.dropLast()), parentPath: parentPath, rawName: rawName)
        }
        let path = parentPath.isEmpty ? name : parentPath + "/" + name
        let parent = try parentDirectory(Array(components.dropLast()), create: true, entry: rawName)!
        let hardlink = archive_entry_hardlink_utf8(entry) ?? archive_entry_hardlink(entry)

        var st = stat()
        if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            let keep = hardlink == nil && type == UInt32(Glibc.S_IFDIR) && st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR
            if !keep { try removeEntry(parent, name, display: path) }
        }
        created.insert(path)

        if let hardlink {
            return try link(entry: rawName, to: LayerExtractor.string(hardlink), parent: parent, name: name)
        }
        let mode = mode_t(archive_entry_perm(entry)) & 0o7777
        switch type {
        case UInt32(Glibc.S_IFDIR):
            if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST { throw UnpackError.errno("create directory \(rawName)") }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw UnpackError.errno("open directory \(rawName)") }
            defer { close(fd) }
            try setAttributes(entry, .fd(fd), display: rawName, directory: path)
        case UInt32(Glibc.S_IFREG):
            let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw UnpackError.errno("create \(rawName)") }
            defer { close(fd) }
            try writeData(reader, fd: fd, size: Int64(archive_entry_size(entry)), display: rawName)
            try setAttributes(entry, .fd(fd), display: rawName, directory: nil)
        case UInt32(Glibc.S_IFLNK):
            let target = LayerExtractor.string(archive_entry_symlink_utf8(entry) ?? archive_entry_symlink(entry))
            guard symlinkat(target, parent, name) == 0 else { throw UnpackError.errno("create symlink \(rawName)") }
            try setAttributes(entry, .at(parent, name, isLink: true), display: rawName, directory: nil)
        case UInt32(Glibc.S_IFCHR), UInt32(Glibc.S_IFBLK), UInt32(Glibc.S_IFIFO):
            let major = UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry))
            let minor = UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry))
            guard ca_mknodat(parent, name, mode_t(type) | 0o600, major, minor) == 0 else {
                throw UnpackError.errno("create device or fifo \(rawName)")
            }
            try setAttributes(entry, .at(parent, name, isLink: false), display: rawName, directory: nil)
        default:
            // Sockets and unknown types have no meaning in an image: skipped, as tar does.
            created.remove(path)
            _ = mode
        }
    }

    /// `.wh.NAME` and `.wh..wh..opq` (OCI image spec, "Whiteouts").
    private func whiteout(name: String, in parentComponents: [String], parentPath: String, rawName: String) throws {
        if name == ".wh..wh..opq" {
            switch options.whiteouts {
            case .overlay:
                let dir = try openDirectory(parentComponents, entry: rawName)
                defer { close(dir) }
                guard fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) == 0 else {
                    throw UnpackError.errno("mark \(parentPath.isEmpty ? "/" : parentPath) opaque (\(rawName))")
                }
            case .delete:
                guard let dir = try parentDirectory(parentComponents, create: false, entry: rawName) else { return }
                for child in try names(inDirectory: dir, display: parentPath) {
                    let path = parentPath.isEmpty ? child : parentPath + "/" + child
                    if !created.contains(path) { try removeEntry(dir, child, display: path) }
                }
            }
            return
        }
        // Other ".wh..wh." names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): nothing to apply.
        if name.hasPrefix(".wh..wh.") { return }
        let target = String(name.dropFirst(4))
        guard !target.isEmpty, target != ".", target != ".." else {
            throw UnpackError(.unsafeEntry, "layer entry \(rawName): a whiteout must name a file")
        }
        let path = parentPath.isEmpty ? target : parentPath + "/" + target
        if created.contains(path) { return }
        switch options.whiteouts {
        case .overlay:
            let parent = try parentDirectory(parentComponents, create: true, entry: rawName)!
            var st = stat()
            if fstatat(parent, target, &st, AT_SYMLINK_NOFOLLOW) == 0 { try removeEntry(parent, target, display: path) }
            // overlayfs's whiteout: a character device 0:0 (owned by root, as created).
            guard ca_mknodat(parent, target, mode_t(Glibc.S_IFCHR), 0, 0) == 0 else {
                throw UnpackError.errno("create whiteout for \(path) (\(rawName))")
            }
        case .delete:
            guard let parent = try parentDirectory(parentComponents, create: false, entry: rawName) else { return }
            var st = stat()
            if fstatat(parent, target, &st, AT_SYMLINK_NOFOLLOW) == 0 { try removeEntry(parent, target, display: path) }
        }
    }

    private func link(entry rawName: String, to rawTarget: String, parent: Int32, name: String) throws {
        let target = LayerExtractor.clean(rawTarget)
        guard !target.isEmpty else {
            throw UnpackError(.unsafeEntry, "layer entry \(rawName): hardlink to the root directory")
        }
        let fd = try openInRoot(target.joined(separator: "/"), CA_O_PATH | O_NOFOLLOW | O_CLOEXEC, entry: rawName)
        guard fd >= 0 else {
            throw UnpackError(.unsafeEntry, "layer entry \(rawName): hardlink target \(rawTarget) is not in the layer")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw UnpackError.errno("stat hardlink target \(rawTarget) of \(rawName)") }
        guard st.st_mode & Glibc.S_IFMT != Glibc.S_IFDIR else {
            throw UnpackError(.unsafeEntry, "layer entry \(rawName): hardlink to directory \(rawTarget)")
        }
        guard ca_link_fd(fd, parent, name) == 0 else { throw UnpackError.errno("hardlink \(rawName) to \(rawTarget)") }
    }

    private func writeData(_ reader: LayerReader, fd: Int32, size: Int64, display: String) throws {
        var end: Int64 = 0
        try reader.readData { block, offset in
            var done = 0
            while done < block.count {
                let n = pwrite(fd, block.baseAddress! + done, block.count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw UnpackError.errno("write \(display)") }
                done += n
            }
            end = max(end, offset + Int64(block.count))
        }
        // A sparse file may end in a hole: the data blocks stop before its size.
        if end < size, ftruncate(fd, off_t(size)) != 0 { throw UnpackError.errno("extend \(display)") }
    }

    // MARK: attributes

    private enum Target {
        case fd(Int32)
        /// By name in a directory, not following it (symlinks, nodes).
        case at(Int32, String, isLink: Bool)
    }

    /// Owner, then mode (chown clears setuid/setgid), then xattrs, then times;
    /// a directory's times are only noted here and set at the end.
    private func setAttributes(_ entry: OpaquePointer, _ target: Target, display: String, directory: String?) throws {
        let uid = uid_t(truncatingIfNeeded: archive_entry_uid(entry))
        let gid = gid_t(truncatingIfNeeded: archive_entry_gid(entry))
        let mode = mode_t(archive_entry_perm(entry)) & 0o7777
        switch target {
        case .fd(let fd):
            if isRoot, fchown(fd, uid, gid) != 0 { throw UnpackError.errno("chown \(display)") }
            guard fchmod(fd, mode) == 0 else { throw UnpackError.errno("chmod \(display)") }
        case .at(let dir, let name, let isLink):
            if isRoot, fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 { throw UnpackError.errno("chown \(display)") }
            if !isLink, fchmodat(dir, name, mode, 0) != 0 { throw UnpackError.errno("chmod \(display)") }
        }
        try setXattrs(entry, target, display: display)
        let mtime = timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))
        let atime = archive_entry_atime_is_set(entry) != 0
            ? timespec(tv_sec: archive_entry_atime(entry), tv_nsec: archive_entry_atime_nsec(entry)) : mtime
        if let directory {
            directoryTimes.append((directory, atime, mtime))
            return
        }
        var times = [atime, mtime]
        switch target {
        case .fd(let fd):
            guard futimens(fd, &times) == 0 else { throw UnpackError.errno("set times of \(display)") }
        case .at(let dir, let name, _):
            guard utimensat(dir, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw UnpackError.errno("set times of \(display)") }
        }
    }

    private func setXattrs(_ entry: OpaquePointer, _ target: Target, display: String) throws {
        guard archive_entry_xattr_reset(entry) > 0 else { return }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let key = String(cString: name)
            if key.hasPrefix("trusted.overlay.") { continue }
            let rc: Int32
            switch target {
            case .fd(let fd): rc = fsetxattr(fd, name, value, size, 0)
            case .at(let dir, let file, _): rc = lsetxattr("/proc/self/fd/\(dir)/\(file)", name, value, size, 0)
            }
            guard rc == 0 else { throw UnpackError.errno("set xattr \(key) on \(display)") }
        }
    }

    private func setDirectoryTimes() throws {
        for (path, atime, mtime) in directoryTimes {
            // The directory may have been replaced by a later entry: then its times are moot.
            let fd = path.isEmpty ? dup(rootFD) : try openInRoot(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, entry: path)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var times = [atime, mtime]
            guard futimens(fd, &times) == 0 else { throw UnpackError.errno("set times of \(path)") }
        }
    }

    // MARK: paths

    /// The components of `name` with the root as "/": no empty, "." or ".." parts.
    static func clean(_ name: String) -> [String] {
        var out: [String] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !out.isEmpty { out.removeLast() }
                continue
            }
            out.append(String(part))
        }
        return out
    }

    static func string(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

    /// openat2(root, path, RESOLVE_IN_ROOT); -1 with errno on failure (the caller
    /// decides which errors are errors). Without openat2: component by component,
    /// refusing any symlink in the parent path.
    private func openInRoot(_ path: String, _ flags: Int32, entry: String) throws -> Int32 {
        if hasOpenat2 {
            while true {
                let fd = ca_openat_in_root(rootFD, path, flags, 0)
                if fd >= 0 { return fd }
                switch errno {
                case EINTR, EAGAIN: continue  // EAGAIN: a rename raced the resolution
                case ENOSYS: hasOpenat2 = false
                case EXDEV: throw UnpackError(.unsafeEntry, "layer entry \(entry): \(path) resolves outside the layer")
                default: return -1
                }
                break
            }
        }
        var fd = dup(rootFD)
        let parts = path.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let next = openat(fd, part, last ? flags : (CA_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
            let err = errno
            close(fd)
            guard next >= 0 else {
                if err == ENOTDIR || err == ELOOP {
                    var st = stat()
                    if fstatat(rootFD, parts[...i].joined(separator: "/"), &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & Glibc.S_IFMT == Glibc.S_IFLNK {
                        throw UnpackError(.unsafeEntry, "layer entry \(entry): \(parts[...i].joined(separator: "/")) is a symlink (not followed without openat2)")
                    }
                }
                errno = err
                return -1
            }
            fd = next
        }
        return fd
    }

    /// The directory that holds the entry's last component, as a borrowed fd.
    /// With `create`, missing directories are made (attributes from the lower
    /// layers when they have that directory, else root 0755); without, nil when missing.
    private func parentDirectory(_ components: [String], create: Bool, entry: String) throws -> Int32? {
        let path = components.joined(separator: "/")
        if cachedParentValid, let cached = cachedParent, cached.path == path { return cached.fd }
        dropCachedParent()
        if components.isEmpty { return rootFD }
        var fd = try openInRoot(path, CA_O_PATH | O_DIRECTORY | O_CLOEXEC, entry: entry)
        if fd < 0 {
            guard errno == ENOENT, create else {
                if errno == ENOENT { return nil }
                if errno == ENOTDIR { throw UnpackError(.unsafeEntry, "layer entry \(entry): a parent of it is not a directory") }
                throw UnpackError.errno("open parent directory of \(entry)")
            }
            fd = try makeDirectories(components, entry: entry)
        }
        cachedParent = (path, fd)
        cachedParentValid = true
        return fd
    }

    /// An fd (O_RDONLY) of the directory `components`, created when missing.
    private func openDirectory(_ components: [String], entry: String) throws -> Int32 {
        if components.isEmpty { return dup(rootFD) }
        let path = components.joined(separator: "/")
        var fd = try openInRoot(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, entry: entry)
        if fd < 0 && errno == ENOENT {
            close(try makeDirectories(components, entry: entry))
            fd = try openInRoot(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, entry: entry)
        }
        guard fd >= 0 else { throw UnpackError.errno("open directory \(path) for \(entry)") }
        return fd
    }

    private func makeDirectories(_ components: [String], entry: String) throws -> Int32 {
        var fd = dup(rootFD)
        for i in components.indices {
            let path = components[...i].joined(separator: "/")
            var next = try openInRoot(path, CA_O_PATH | O_DIRECTORY | O_CLOEXEC, entry: entry)
            if next < 0 && errno == ENOENT {
                if mkdirat(fd, components[i], 0o755) != 0 {
                    let err = errno
                    close(fd)
                    if err == EEXIST { throw UnpackError(.unsafeEntry, "layer entry \(entry): \(path) is a symlink to a missing directory") }
                    throw UnpackError.errno("create directory \(path) for \(entry)", err)
                }
                created.insert(path)
                copyLowerAttributes(path, dirfd: fd, name: components[i])
                next = try openInRoot(path, CA_O_PATH | O_DIRECTORY | O_CLOEXEC, entry: entry)
            }
            let err = errno
            close(fd)
            guard next >= 0 else {
                if err == ENOTDIR || err == EEXIST { throw UnpackError(.unsafeEntry, "layer entry \(entry): \(path) is not a directory") }
                throw UnpackError.errno("open directory \(path) for \(entry)", err)
            }
            fd = next
        }
        return fd
    }

    /// An implied directory takes its attributes from the nearest lower layer that has it.
    private func copyLowerAttributes(_ path: String, dirfd: Int32, name: String) {
        for lower in options.lowerDirectories {
            var st = stat()
            guard fstatat(AT_FDCWD, lower + "/" + path, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            guard st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR else { return }
            _ = fchownat(dirfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)
            _ = fchmodat(dirfd, name, st.st_mode & 0o7777, 0)
            directoryTimes.append((path, st.st_atim, st.st_mtim))
            return
        }
    }

    private func dropCachedParent() {
        if let cached = cachedParent { close(cached.fd) }
        cachedParent = nil
    }

    // MARK: removal

    private func names(inDirectory fd: Int32, display: String) throws -> [String] {
        let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let err = errno
            if copy >= 0 { close(copy) }
            throw UnpackError.errno("read directory \(display)", err)
        }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Removes `name` in `dirfd`, a directory with all its content.
    private func removeEntry(_ dirfd: Int32, _ name: String, display: String) throws {
        cachedParentValid = false
        if unlinkat(dirfd, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw UnpackError.errno("remove \(display)") }
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw UnpackError.errno("open \(display)") }
        defer { close(fd) }
        for child in try names(inDirectory: fd, display: display) {
            try removeEntry(fd, child, display: display + "/" + child)
        }
        guard unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw UnpackError.errno("remove \(display)") }
    }
}
