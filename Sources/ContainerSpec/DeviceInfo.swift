import Glibc

/// Host device nodes for `--device` and `--privileged`, read with stat as runc's
/// DeviceFromPath does: type, major/minor, permission bits, owner.
enum DeviceInfo {
    /// The device at `path` (symlinks followed, as Docker does for /dev/disk/by-id/…), nil
    /// when it is not a device node.
    static func device(at path: String, containerPath: String) throws(ContainerSpecError) -> RuntimeConfig.Device? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ContainerSpecError(.invalidDevice,
                "error gathering device information while adding custom device \"\(path)\": \(String(cString: strerror(errno)))")
        }
        let type: String
        switch st.st_mode & S_IFMT {
        case S_IFCHR: type = "c"
        case S_IFBLK: type = "b"
        case S_IFIFO: type = "p"
        default: return nil
        }
        let dev = UInt64(st.st_rdev)
        // glibc's gnu_dev_major/minor, written out (they are macros to Swift).
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        return RuntimeConfig.Device(type: type, path: containerPath, major: Int64(major), minor: Int64(minor),
                                    fileMode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Entries of a directory, without "." and "..", sorted.
    static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Every device node under `dir` (lstat: links are not followed, so each node is
    /// seen once), mapped to the same path in the container: `--privileged`'s devices.
    /// As containerd's HostDevices: /dev/pts, shm, mqueue, fd and the console are not
    /// taken (the container has its own).
    static func hostDevices(under dir: String = "/dev") -> [RuntimeConfig.Device] {
        var out: [RuntimeConfig.Device] = []
        for name in list(dir) {
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if dir == "/dev", ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"].contains(name) { continue }
                out += hostDevices(under: path)
            case S_IFCHR, S_IFBLK:
                if path == "/dev/console" { continue }
                if let d = try? device(at: path, containerPath: path) { out.append(d) }
            default: continue
            }
        }
        return out
    }
}
