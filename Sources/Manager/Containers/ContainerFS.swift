import CArchive
import Glibc
import RPC
import Snapshots

/// Small fd-based file system helpers for the container file methods (diff,
/// commit, export, cp): everything below a container's root is reached
/// through directory fds and `openat(…, O_NOFOLLOW)` or openat2 with
/// RESOLVE_IN_ROOT, never through a host path string that a symlink planted
/// by the container could redirect.
enum ContainerFS {
    static func errorText(_ err: Int32 = errno) -> String { String(cString: strerror(err)) }

    /// The components of `path` with the container's root as "/": no empty,
    /// "." or ".." parts (".." never climbs above the root).
    static func components(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { if !out.isEmpty { out.removeLast() }; continue }
            out.append(String(part))
        }
        return out
    }

    /// openat2(root, path, RESOLVE_IN_ROOT): symlinks (absolute ones and ".."
    /// included) resolve as they would inside the container. -1 with errno.
    static func openInRoot(_ rootFD: Int32, _ path: String, _ flags: Int32) -> Int32 {
        let rel = path.isEmpty ? "." : path
        while true {
            let fd = ca_openat_in_root(rootFD, rel, flags | O_CLOEXEC, 0)
            if fd >= 0 || (errno != EINTR && errno != EAGAIN) { return fd }
        }
    }

    /// The names in directory `fd` (without "." and ".."), in byte order: the
    /// order Docker walks a tree in.
    static func names(_ fd: Int32) throws -> [String] {
        let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let err = errno
            if copy >= 0 { close(copy) }
            throw BerthError(.internal, "read directory: \(errorText(err))")
        }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// lstat of `name` in `dir`; nil when it does not exist.
    static func lstat(_ dir: Int32, _ name: String) -> stat? {
        var st = stat()
        return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    static func isDirectory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }

    /// overlayfs's whiteout: a character device 0/0.
    static func isWhiteout(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 }

    /// A directory marked `trusted.overlay.opaque=y` (its lower layers are hidden).
    static func isOpaque(_ dir: Int32, _ name: String) -> Bool {
        let fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var value: [UInt8] = [0, 0]
        let n = fgetxattr(fd, "trusted.overlay.opaque", &value, 2)
        return n == 1 && value[0] == UInt8(ascii: "y")
    }

    /// Opens a subdirectory without following a symlink.
    static func openDirectory(_ dir: Int32, _ name: String) throws -> Int32 {
        let fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError(.internal, "open directory \(name): \(errorText())") }
        return fd
    }

    /// Removes `name` in `dir`, a directory with everything in it (never following a symlink).
    static func removeEntry(_ dir: Int32, _ name: String) throws {
        if unlinkat(dir, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw BerthError(.internal, "remove \(name): \(errorText())") }
        let fd = try openDirectory(dir, name)
        defer { close(fd) }
        for child in try names(fd) { try removeEntry(fd, child) }
        guard unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
            throw BerthError(.internal, "remove \(name): \(errorText())")
        }
    }
}

/// An fd of a container's root directory (the merged view), and what must
/// happen when it is no longer needed.
final class ContainerRoot {
    let fd: Int32
    /// The running task's rootfs, as opposed to the snapshot mounted for this use only.
    let isTaskRootfs: Bool

    init(fd: Int32, isTaskRootfs: Bool) {
        self.fd = fd
        self.isTaskRootfs = isTaskRootfs
    }

    deinit { close(fd) }
}

extension ContainerService {
    /// Where a stopped container's snapshot is mounted for a moment (`<state>/mounts`).
    var scratchMounts: String {
        let parts = paths.bundles.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        return parts.joined(separator: "/") + "/mounts"
    }

    /// The container's root directory, for reading or writing its files.
    ///
    /// A running (or paused) container's rootfs is already mounted in its
    /// bundle, in its shim's mount namespace: its fd is opened through the
    /// shim's /proc root under the container's mutex; if the task exits
    /// meanwhile, the fd keeps the mount usable until it is closed.
    /// A stopped container's snapshot is mounted on a scratch directory under
    /// the mutex, the root opened, and the mount detached at once: the fd
    /// holds the (now private) mount until it is closed, and a crash of berthd
    /// leaves no mount behind. The mutex is not held while the caller works,
    /// so a long copy does not block `ps`, `inspect` or `stop`.
    func openRoot(_ entry: ContainerEntry) throws -> ContainerRoot {
        try entry.locked { g in
            if let t = g.task {
                let path = taskRootfs(entry.id, t)
                let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { throw BerthError(.internal, "open \(path): \(ContainerFS.errorText())") }
                return ContainerRoot(fd: fd, isTaskRootfs: true)
            }
            let r = g.record
            try Self.makeDirectory(scratchMounts, mode: 0o700)
            let dir = scratchMounts + "/" + r.shortID + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            try Self.makeDirectory(dir, mode: 0o700)
            defer { rmdir(dir) }
            let mounts: [Mount]
            do { mounts = try images.snapshotter.mounts(r.snapshotKey) } catch {
                throw BerthError(.internal, "the filesystem of container \(r.shortID) is missing: \(error)")
            }
            do { try Mount.mountAll(mounts, at: dir) } catch {
                throw BerthError(.internal, "cannot mount the filesystem of container \(r.shortID): \(error)")
            }
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            let err = errno
            _ = try? Mount.unmountAll(dir, detach: true)
            guard fd >= 0 else { throw BerthError(.internal, "open \(dir): \(ContainerFS.errorText(err))") }
            return ContainerRoot(fd: fd, isTaskRootfs: false)
        }
    }
}
