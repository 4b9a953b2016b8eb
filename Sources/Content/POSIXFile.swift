#if canImport(Glibc)
import Glibc
#endif

/// Small POSIX helpers that turn errno into ContentError, so the store reads as a protocol
/// rather than as error plumbing.
enum POSIXFile {
    static func mkdirs(_ path: String, mode: mode_t = 0o755) throws(ContentError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw .io(operation: "mkdir", path: current, errno: errno)
            }
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(ContentError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == ENOENT { throw .io(operation: "open", path: path, errno: ENOENT) }
            throw errno == ENOSPC || errno == EDQUOT ? .noSpace(path: path) : .io(operation: "open", path: path, errno: errno)
        }
        return fd
    }

    /// Writes all of `buffer`; nil on success, the errno otherwise (with the count written so far).
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> (written: Int, errno: Int32?) {
        guard var p = buffer.baseAddress else { return (0, nil) }
        var left = buffer.count, done = 0
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return (done, errno)
            }
            if n == 0 { return (done, ENOSPC) }
            p += n
            left -= n
            done += n
        }
        return (done, nil)
    }

    static func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(ContentError) {
        let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        defer { close(fd) }
        let r = bytes.withUnsafeBytes { writeAll(fd, $0) }
        if let e = r.errno { throw e == ENOSPC || e == EDQUOT ? .noSpace(path: path) : .io(operation: "write", path: path, errno: e) }
    }

    static func readFile(_ path: String) throws(ContentError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var out = [UInt8]()
        var st = stat()
        if fstat(fd, &st) == 0 { out.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw .io(operation: "read", path: path, errno: errno) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func size(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    static func fsyncDirectory(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in (try? list(path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    static func list(_ path: String) throws(ContentError) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw .io(operation: "opendir", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names = [String]()
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
