import CArchive
import Glibc
import RPC

/// A tar (PAX) written with libarchive from files reached through directory
/// fds: owners, modes (setuid/setgid/sticky included), nanosecond mtimes,
/// symlinks, device nodes, fifos, hardlinks (the second name of an inode is a
/// hardlink entry) and xattrs (overlayfs's own `trusted.overlay.*` left out)
/// are kept. The bytes go to `sink` (a file, a FIFO, a hasher), in order.
final class TarOutput {
    private let archive: OpaquePointer
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    /// What the sink threw: libarchive only sees -1.
    private var sinkError: Error?
    /// (dev, ino) of files with several links → the first name written.
    private var links: [FileID: String] = [:]
    private var finished = false

    struct FileID: Hashable { var dev: UInt64; var ino: UInt64 }

    /// A tar written into `fd` (not closed here).
    convenience init(fd: Int32) throws {
        try self.init { buffer in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw BerthError(.internal, "write: \(ContainerFS.errorText())") }
                done += n
            }
        }
    }

    init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.sink = sink
        guard let a = archive_write_new() else { throw BerthError(.internal, "archive_write_new failed") }
        archive = a
        archive_write_set_format_pax_restricted(a)
        archive_write_set_bytes_in_last_block(a, 1)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let rc = archive_write_open(a, context, nil, { _, client, buffer, length in
            let me = Unmanaged<TarOutput>.fromOpaque(client!).takeUnretainedValue()
            do {
                try me.sink(UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            } catch {
                me.sinkError = error
                return -1
            }
        }, nil)
        guard rc == ARCHIVE_OK else {
            let message = TarOutput.errorString(a)
            archive_write_free(a)
            throw BerthError(.internal, "cannot start the tar: \(message)")
        }
    }

    deinit {
        if !finished { archive_write_free(archive) }
    }

    func finish() throws {
        finished = true
        let rc = archive_write_close(archive)
        let message = rc == ARCHIVE_OK ? "" : TarOutput.errorString(archive)
        archive_write_free(archive)
        if let e = sinkError { throw e }
        guard rc == ARCHIVE_OK else { throw BerthError(.internal, "cannot finish the tar: \(message)") }
    }

    private func failure(_ what: String) -> Error {
        if let e = sinkError { sinkError = nil; return e }
        return BerthError(.internal, "\(what): \(TarOutput.errorString(archive))")
    }

    static func errorString(_ a: OpaquePointer) -> String {
        let p: UnsafePointer<CChar>? = archive_error_string(a)
        return p.map { String(cString: $0) } ?? "unknown libarchive error"
    }

    // MARK: entries

    /// The entry `name` in directory `parent`, stored as `path` (`st` is its lstat).
    func add(parent: Int32, name: String, as path: String, st: stat) throws {
        let type = st.st_mode & S_IFMT
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_mode(entry, st.st_mode)
        archive_entry_set_uid(entry, Int64(st.st_uid))
        archive_entry_set_gid(entry, Int64(st.st_gid))
        archive_entry_set_mtime(entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }

        switch type {
        case S_IFREG:
            if st.st_nlink > 1 {
                let id = FileID(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
                if let first = links[id] {
                    archive_entry_set_hardlink(entry, first)
                    archive_entry_set_size(entry, 0)
                    guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw failure("write \(path)") }
                    return
                }
                links[id] = path
            }
            fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { throw BerthError(.internal, "open \(path): \(ContainerFS.errorText())") }
            var now = stat()
            // The file read is the one stat'ed (not swapped for another meanwhile).
            guard fstat(fd, &now) == 0, now.st_ino == st.st_ino, now.st_mode & S_IFMT == S_IFREG else {
                throw BerthError(.internal, "\(path) changed while it was being archived")
            }
            archive_entry_set_size(entry, Int64(now.st_size))
            addXattrs(entry, fd: fd)
        case S_IFDIR:
            fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { addXattrs(entry, fd: fd) }
        case S_IFLNK:
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(parent, name, &buf, buf.count - 1)
            guard n >= 0 else { throw BerthError(.internal, "readlink \(path): \(ContainerFS.errorText())") }
            buf[n] = 0
            archive_entry_set_symlink(entry, buf)
        case S_IFCHR, S_IFBLK:
            archive_entry_set_rdev(entry, st.st_rdev)
        case S_IFIFO:
            break
        default:
            return  // sockets have no meaning in an archive (tar skips them too)
        }
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw failure("write \(path)") }
        if type == S_IFREG {
            var buf = [UInt8](repeating: 0, count: 1 << 17)
            var left = Int64(archive_entry_size(entry))
            while left > 0 {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, Int(left))) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw BerthError(.internal, "read \(path): \(ContainerFS.errorText())") }
                if n == 0 {
                    // It shrank while being read: the header said more, so pad with zeros.
                    buf = [UInt8](repeating: 0, count: buf.count)
                    let k = Int(min(left, Int64(buf.count)))
                    guard buf.withUnsafeBytes({ archive_write_data(archive, $0.baseAddress, k) }) == k else { throw failure("write \(path)") }
                    left -= Int64(k)
                    continue
                }
                guard buf.withUnsafeBytes({ archive_write_data(archive, $0.baseAddress, n) }) == n else { throw failure("write \(path)") }
                left -= Int64(n)
            }
        }
    }

    /// An empty regular file (an OCI whiteout: `.wh.NAME`, `.wh..wh..opq`).
    func addEmptyFile(_ path: String, mode: mode_t = 0o600, uid: uid_t = 0, gid: gid_t = 0, mtime: timespec = timespec()) throws {
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_mode(entry, S_IFREG | (mode & 0o7777))
        archive_entry_set_uid(entry, Int64(uid))
        archive_entry_set_gid(entry, Int64(gid))
        archive_entry_set_mtime(entry, mtime.tv_sec, mtime.tv_nsec)
        archive_entry_set_size(entry, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw failure("write \(path)") }
    }

    /// Every entry below directory `dir`, named `prefix/…` (no prefix: at the top).
    func addContents(of dir: Int32, prefix: String) throws {
        for name in try ContainerFS.names(dir) {
            guard let st = ContainerFS.lstat(dir, name) else { continue }  // gone meanwhile
            let path = prefix.isEmpty ? name : prefix + "/" + name
            try add(parent: dir, name: name, as: path, st: st)
            if ContainerFS.isDirectory(st) {
                let fd = try ContainerFS.openDirectory(dir, name)
                defer { close(fd) }
                try addContents(of: fd, prefix: path)
            }
        }
    }

    private func addXattrs(_ entry: OpaquePointer, fd: Int32) {
        let size = flistxattr(fd, nil, 0)
        guard size > 0 else { return }
        var names = [CChar](repeating: 0, count: size)
        let got = flistxattr(fd, &names, size)
        guard got > 0 else { return }
        var start = 0
        for i in 0..<got where names[i] == 0 {
            let name = names[start..<i].withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0), as: UTF8.self) }
            start = i + 1
            if name.isEmpty || name.hasPrefix("trusted.overlay.") { continue }
            let vsize = fgetxattr(fd, name, nil, 0)
            guard vsize >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: max(vsize, 1))
            let vgot = fgetxattr(fd, name, &value, vsize)
            guard vgot >= 0 else { continue }
            value.withUnsafeBytes { archive_entry_xattr_add_entry(entry, name, $0.baseAddress, vgot) }
        }
    }
}

/// A gzip stream written with libarchive (format "raw", gzip filter) into a file.
final class GzipFile {
    private let archive: OpaquePointer
    private let fd: Int32
    let path: String
    private var finished = false

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BerthError(.internal, "create \(path): \(ContainerFS.errorText())") }
        guard let a = archive_write_new() else { close(fd); throw BerthError(.internal, "archive_write_new failed") }
        archive = a
        archive_write_set_format_raw(a)
        archive_write_add_filter_gzip(a)
        // No timestamp in the gzip header: the same layer gives the same blob.
        archive_write_set_filter_option(a, "gzip", "timestamp", nil)
        archive_write_set_bytes_in_last_block(a, 1)
        guard archive_write_open_fd(a, fd) == ARCHIVE_OK else {
            let message = TarOutput.errorString(a)
            archive_write_free(a)
            close(fd)
            throw BerthError(.internal, "cannot write \(path): \(message)")
        }
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, "layer.tar")
        archive_entry_set_filetype(entry, UInt32(Glibc.S_IFREG))
        guard archive_write_header(a, entry) == ARCHIVE_OK else {
            let message = TarOutput.errorString(a)
            archive_write_free(a)
            close(fd)
            throw BerthError(.internal, "cannot write \(path): \(message)")
        }
    }

    deinit {
        if !finished { archive_write_free(archive); close(fd) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard archive_write_data(archive, bytes.baseAddress, bytes.count) == bytes.count else {
            throw BerthError(.internal, "write \(path): \(TarOutput.errorString(archive))")
        }
    }

    func finish() throws {
        finished = true
        let rc = archive_write_close(archive)
        archive_write_free(archive)
        let closed = close(fd)
        guard rc == ARCHIVE_OK, closed == 0 else { throw BerthError(.internal, "cannot finish \(path)") }
    }
}
