import CArchive
import Glibc
import Testing

/// Layers the tests build: a busybox-static rootfs through GNU tar, and crafted
/// archives through Python's tarfile (names and types GNU tar would not write).
enum LayerFixtures {
    /// A small root filesystem around busybox-static with every kind of entry and
    /// attribute an unpack must keep.
    static func busyboxTree(at dir: String) {
        sh("""
            set -e; cd \(dir); mkdir -p bin etc dev run home/user var/empty usr/share/doc
            cp /usr/bin/busybox bin/busybox
            for n in sh ls cat echo true; do ln -s busybox bin/$n; done
            ln bin/busybox bin/busybox-hardlink
            printf 'root:x:0:0:root:/root:/bin/sh\\n' > etc/passwd
            printf 'doc\\n' > usr/share/doc/README
            cp /usr/bin/busybox bin/suid && chmod 4755 bin/suid
            chown -R 1000:1001 home/user && chmod 0700 home/user
            chmod 1777 var/empty
            mknod dev/null c 1 3 && chmod 0666 dev/null
            mknod dev/loop9 b 7 9
            mkfifo run/fifo
            python3 -c "import os; os.setxattr('etc/passwd', 'user.berth', b'value'); os.setxattr('usr', 'trusted.berth', b'dir')"
            find . -exec touch -h -d '2020-01-02 03:04:05.123456789' {} +
            """)
    }

    /// `tar` of `dir` as an image builder writes it: numeric owners, xattrs, pax.
    static func tar(_ dir: String, to file: String) {
        sh("tar --xattrs --xattrs-include='*' --numeric-owner --format=posix -C \(dir) -cf \(file) .")
    }

    static func compress(_ tar: String, as compression: String) -> String {
        switch compression {
        case "gzip": sh("gzip -c \(tar) > \(tar).gz"); return tar + ".gz"
        case "zstd": zstd(tar, to: tar + ".zst"); return tar + ".zst"
        default: return tar
        }
    }

    /// `file` compressed with zstd through libarchive (its libzstd), so the tests
    /// need no zstd program.
    static func zstd(_ file: String, to output: String, level: Int = 3) {
        let a = archive_write_new()
        defer { archive_write_free(a) }
        precondition(archive_write_add_filter_zstd(a) == ARCHIVE_OK && archive_write_set_format_raw(a) == ARCHIVE_OK)
        _ = archive_write_set_filter_option(a, "zstd", "compression-level", String(level))
        precondition(archive_write_open_filename(a, output) == ARCHIVE_OK, "open \(output)")
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, "data")
        archive_entry_set_filetype(entry, UInt32(Glibc.S_IFREG))
        precondition(archive_write_header(a, entry) == ARCHIVE_OK)
        let fd = open(file, O_RDONLY)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { break }
            precondition(archive_write_data(a, buf, n) == n)
        }
        close(fd)
        precondition(archive_write_close(a) == ARCHIVE_OK, String(cString: archive_error_string(a)))
    }

    static func sha256(_ file: String) -> String {
        "sha256:" + String(sh("sha256sum \(file)").prefix(64))
    }

    /// A tar written by Python's tarfile; `entries` is Python calling the helpers
    /// f(name, data), d(name), sym(name, target), hard(name, target), dev(name, major, minor).
    static func crafted(_ file: String, _ entries: String) {
        python("""
            import tarfile, io
            t = tarfile.open('\(file)', 'w', format=tarfile.PAX_FORMAT)
            def add(ti, data=None):
                ti.mtime = 1600000000
                t.addfile(ti, io.BytesIO(data) if data is not None else None)
            def f(name, data=b'x', mode=0o644, uid=0, gid=0):
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode; ti.uid = uid; ti.gid = gid; add(ti, data)
            def d(name, mode=0o755):
                ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = mode; add(ti)
            def sym(name, target):
                ti = tarfile.TarInfo(name); ti.type = tarfile.SYMTYPE; ti.linkname = target; add(ti)
            def hard(name, target):
                ti = tarfile.TarInfo(name); ti.type = tarfile.LNKTYPE; ti.linkname = target; add(ti)
            def dev(name, major, minor):
                ti = tarfile.TarInfo(name); ti.type = tarfile.CHRTYPE; ti.devmajor = major; ti.devminor = minor; ti.mode = 0o600; add(ti)
            \(entries.split(separator: "\n").map { $0.trimmingPrefix(while: { $0 == " " }) }.joined(separator: "\n"))
            t.close()
            """)
    }
}

extension Substring {
    func trimmingPrefix(while p: (Character) -> Bool) -> Substring {
        var s = self
        while let c = s.first, p(c) { s = s.dropFirst() }
        return s
    }
}
