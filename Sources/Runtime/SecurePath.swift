import Glibc

/// Resolves a path inside a root directory the way the container will see it:
/// symlinks are followed, but an absolute link target or ".." never leaves the
/// root. This is what stops a rootfs symlink from redirecting a mount onto the
/// host (the CVE-2021-30465 class), at the time of resolution.
enum SecurePath {
    static func resolve(root: String, _ path: String) throws(RuntimeError) -> String {
        var resolved: [String] = []
        var pending = path.split(separator: "/").map(String.init)
        var links = 0
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." || part.isEmpty { continue }
            if part == ".." { if !resolved.isEmpty { resolved.removeLast() }; continue }
            let candidate = root + "/" + (resolved + [part]).joined(separator: "/")
            var st = stat()
            guard lstat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else {
                resolved.append(part)
                continue
            }
            links += 1
            if links > 255 { throw RuntimeError("too many levels of symbolic links resolving \(path) in \(root)") }
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(candidate, &buf, buf.count - 1)
            if n < 0 { throw RuntimeError.sys("readlink \(candidate)") }
            let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") { resolved = [] }
            pending = target.split(separator: "/").map(String.init) + pending
        }
        return resolved.isEmpty ? root : root + "/" + resolved.joined(separator: "/")
    }
}
