import Glibc
import Metadata
import Snapshots
import Testing

/// A temporary directory removed (after unmounting anything left in it) when dropped.
final class Scratch {
    let path: String

    init(_ name: String = "berth-unpack") {
        var template = Array("/tmp/\(name)-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit {
        // Lazy-unmount whatever a failed test left mounted below, deepest first.
        _ = system("grep -o ' \(path)[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf '\(path)'")
    }

    func sub(_ name: String) -> String {
        let p = path + "/" + name
        mkdir(p, 0o755)
        return p
    }
}

/// Runs a shell command; its standard output (trailing newline dropped). Fails the test on a non-zero exit.
@discardableResult
func sh(_ command: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    let out = "/tmp/berth-sh-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let rc = system("(\(command)) > \(out) 2>&1")
    let text = readFile(out)
    unlink(out)
    #expect(rc == 0, "\(command) failed: \(text)", sourceLocation: sourceLocation)
    return text.hasSuffix("\n") ? String(text.dropLast()) : text
}

/// The file's content, or "<errno N>" when it cannot be read.
func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return "<errno \(errno)>" }
    defer { close(fd) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "open \(path)")
    _ = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
    close(fd)
}

func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}


/// Writes `script` (Python using tarfile, with `out` naming the tar to write) and runs it.
func python(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let file = "/tmp/berth-py-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).py"
    writeFile(file, script)
    sh("python3 \(file)", sourceLocation: sourceLocation)
    unlink(file)
}

/// A snapshotter of each kind on a fresh root and database.
struct SnapshotFixture {
    let scratch = Scratch("berth-snap")
    var root: String { scratch.path }

    func open(_ kind: SnapshotterKind) throws -> any Snapshotter {
        try kind.open(root: root, database: try Database(path: root + "/metadata.db"))
    }
}

/// Mounts `mounts` on a new directory for the duration of `body`.
func withMounted<T>(_ mounts: [Mount], in scratch: Scratch, _ body: (String) throws -> T) throws -> T {
    let target = scratch.path + "/mnt-\(UInt32.random(in: 0...UInt32.max))"
    mkdir(target, 0o755)
    try Mount.mountAll(mounts, at: target)
    defer {
        try? Mount.unmountAll(target)
        rmdir(target)
    }
    return try body(target)
}

/// Differences between two trees in everything an unpack or a copy must keep:
/// type, mode, owner, size, device numbers, mtime (ns), xattrs, link targets,
/// content and which names share an inode. Empty when they match.
func compareTrees(_ a: String, _ b: String, ignore: [String] = []) -> String {
    let script = """
        import os, sys, hashlib, stat
        def scan(root):
            out, inodes = {}, {}
            for dirpath, dirs, files in os.walk(root):
                for name in [''] if dirpath == root else []: pass
                for name in dirs + files:
                    p = os.path.join(dirpath, name); rel = os.path.relpath(p, root)
                    if any(rel == i or rel.startswith(i + '/') for i in IGNORE): continue
                    st = os.lstat(p)
                    try: xs = sorted((k, os.getxattr(p, k, follow_symlinks=False)) for k in os.listxattr(p, follow_symlinks=False))
                    except OSError: xs = []
                    link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
                    data = hashlib.sha256(open(p, 'rb').read()).hexdigest() if stat.S_ISREG(st.st_mode) else None
                    group = inodes.setdefault(st.st_ino, rel) if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode) else None
                    out[rel] = (stat.filemode(st.st_mode), st.st_mode, st.st_uid, st.st_gid,
                                st.st_size if not stat.S_ISDIR(st.st_mode) else 0, st.st_rdev, st.st_mtime_ns, xs, link, data, group)
            return out
        IGNORE = sys.argv[3:]
        a, b = scan(sys.argv[1]), scan(sys.argv[2])
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k): print(k, a.get(k), '!=', b.get(k))
        """
    let file = "/tmp/berth-cmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).py"
    writeFile(file, script)
    defer { unlink(file) }
    return sh("python3 \(file) \(a) \(b) \(ignore.joined(separator: " "))")
}
