import CBerth
import Glibc
import OCI

/// Builds the container's filesystem view inside its new mount namespace:
/// propagation, the rootfs bind, config mounts, /dev, then pivot_root and the
/// masked and read-only paths. Runs in the container init, before the user process.
struct Rootfs {
    let spec: Spec
    let rootfs: String
    /// False when the config shares the caller's mount namespace: then nothing
    /// touches "/" and the container is entered with chroot.
    let ownMountNamespace: Bool
    let inUserNamespace: Bool
    let newCgroupNamespace: Bool
    let cgroupPath: String
    let cgroupHost: CgroupHost

    typealias O = MountOptions

    // MARK: before the createContainer hooks

    func prepare() throws(RuntimeError) {
        if ownMountNamespace {
            // Nothing done here may propagate back to the host.
            let requested = spec.linux?.rootfsPropagation.flatMap { O.propagations[$0] }
            let rootFlags = requested.map { $0 & O.MS_PRIVATE != 0 ? $0 : O.MS_SLAVE | O.MS_REC } ?? O.MS_SLAVE | O.MS_REC
            try mount(nil, "/", nil, rootFlags, what: "set propagation of /")
            // pivot_root needs the new root to be a mount point.
            try mount(rootfs, rootfs, "bind", O.MS_BIND | O.MS_REC, what: "bind mount rootfs \(rootfs)")
            // slave and unbindable apply to the rootfs mount itself; shared comes
            // after pivot_root, which refuses a shared mount.
            if let requested, requested & (O.MS_SLAVE | O.MS_UNBINDABLE) != 0 {
                try mount(nil, rootfs, nil, requested, what: "set propagation of the rootfs")
            }
        }
        for m in spec.mounts ?? [] { try mountOne(m) }
        if setsUpDev { try createDefaultDevices() }
        try createConfigDevices()
        if setsUpDev { try createDevSymlinks() }
        if let cwd = spec.process?.cwd {
            let target = try SecurePath.resolve(root: rootfs, cwd)
            if !FS.exists(target) { try FS.mkdirAll(target) }
        }
    }

    /// /dev is populated by us unless the config bind-mounts a /dev of its own.
    var setsUpDev: Bool {
        !(spec.mounts ?? []).contains { m in
            FS.cleanAbsolute(m.destination) == "/dev" && ((try? MountOptions(m.options, type: m.type))?.isBind ?? false)
        }
    }

    private func mount(_ source: String?, _ target: String, _ type: String?, _ flags: UInt, data: String = "", what: String) throws(RuntimeError) {
        let r = data.isEmpty ? Glibc.mount(source ?? "", target, type ?? "", flags, nil) : Glibc.mount(source ?? "", target, type ?? "", flags, data)
        if r != 0 { throw RuntimeError.sys(what) }
    }

    /// The mount target pinned by an fd opened inside the rootfs with
    /// openat2(RESOLVE_IN_ROOT): mounting onto /proc/self/fd/N cannot be
    /// redirected out of the rootfs by a symlink swapped in after the path was
    /// checked (the CVE-2021-30465 class). Kernels without openat2 get the
    /// lexically resolved path.
    private func pinned(_ dest: String, _ body: (String) throws(RuntimeError) -> Void) throws(RuntimeError) {
        guard dest.hasPrefix(rootfs) else { throw RuntimeError("mount target \(dest) is outside the rootfs") }
        let relative = String(dest.dropFirst(rootfs.count))
        let root = cb_open(rootfs, CB_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        if root < 0 { throw RuntimeError.sys("open rootfs \(rootfs)") }
        defer { close(root) }
        let fd = cb_openat_in_root(root, relative.isEmpty ? "." : relative, CB_O_PATH | O_CLOEXEC, 0)
        if fd < 0 {
            if errno == ENOSYS { try body(dest); return }
            throw RuntimeError.sys("open mount target \(relative) in the rootfs")
        }
        defer { close(fd) }
        try body("/proc/self/fd/\(fd)")
    }

    func mountOne(_ m: Mount) throws(RuntimeError) {
        let opts = try MountOptions(m.options, type: m.type)
        guard m.destination.hasPrefix("/") else {
            throw RuntimeError("mount destination \(m.destination.debugDescription) is not an absolute path")
        }
        let dest = try SecurePath.resolve(root: rootfs, m.destination)
        if m.uidMappings != nil || m.gidMappings != nil {
            throw RuntimeError("mounts[\(m.destination)]: uidMappings/gidMappings (id-mapped mounts) are not supported yet")
        }
        if opts.isBind {
            guard let source = m.source else { throw RuntimeError("bind mount \(m.destination) needs a source") }
            var st = stat()
            if stat(source, &st) != 0 { throw RuntimeError.sys("bind mount source \(source)") }
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            try makeMountPoint(dest, directory: isDirectory)
            // rbind of a file copies nothing more than bind (no mount can sit
            // below a file; one on it is where the source lookup ends), but the
            // kernel still tests every mount under the source's mount for being
            // below the file: for berthd's /etc/hosts, resolv.conf and hostname
            // that is every rootfs and netns mount on the host, at this point
            // still in our copy of the namespace.
            let recursive = isDirectory ? opts.flags & O.MS_REC : 0
            try pinned(dest) { (target) throws(RuntimeError) in
                try mount(source, target, "bind", O.MS_BIND | recursive, what: "bind mount \(source) on \(m.destination)")
            }
            let extra = opts.flags & ~(O.MS_REC | O.MS_REMOUNT)
            if extra != 0 {
                let flags = O.MS_BIND | O.MS_REMOUNT | extra | (MountOptions.lockedFlags(dest) & ~opts.clearFlags)
                try mount(nil, dest, nil, flags, what: "remount \(m.destination) with options \((m.options ?? []).joined(separator: ","))")
            }
        } else if m.type == "cgroup" || m.type == "cgroup2" {
            try makeMountPoint(dest, directory: true)
            try mountCgroup(dest, flags: opts.flags)
        } else {
            guard let type = m.type, !type.isEmpty else {
                throw RuntimeError("mount \(m.destination) has no type (and is not a bind mount)")
            }
            try makeMountPoint(dest, directory: true)
            // tmpcopyup (runc extension, used by podman): the tmpfs starts with a copy of
            // what the directory held. Keep a handle on the covered directory to copy from.
            var under: Int32 = -1
            var underMode: mode_t = 0
            if opts.copyUp && type == "tmpfs" {
                under = cb_open(dest, O_DIRECTORY | O_RDONLY | O_CLOEXEC, 0)
                if under < 0 { throw RuntimeError.sys("open \(m.destination) for tmpcopyup") }
                var st = stat()
                if fstat(under, &st) == 0 { underMode = st.st_mode & 0o7777 }
            }
            defer { if under >= 0 { close(under) } }
            try pinned(dest) { (target) throws(RuntimeError) in
                try mount(m.source ?? type, target, type, opts.flags & ~O.MS_REMOUNT,
                          data: SecurityModules.mountData(opts.dataString, type: type, label: spec.linux?.mountLabel),
                          what: "mount \(type) on \(m.destination)")
            }
            try SecurityModules.labelMountRoot(dest, type: type, label: spec.linux?.mountLabel, destination: m.destination)
            if under >= 0 {
                try Rootfs.copyTree(from: "/proc/self/fd/\(under)", to: dest, what: m.destination)
                chmod(dest, underMode)
            }
        }
        for p in opts.propagation { try mount(nil, dest, nil, p, what: "set propagation of \(m.destination)") }
        if opts.recursiveReadOnly, cb_mount_setattr_rdonly_recursive(dest) != 0 {
            throw RuntimeError.sys("make \(m.destination) recursively read-only (rro)")
        }
    }

    /// Copies the tree at SRC into the existing directory DST: directories, regular files,
    /// symlinks and special files, with owner, mode and times.
    static func copyTree(from src: String, to dst: String, what: String) throws(RuntimeError) {
        for name in FS.listDirectory(src) {
            let s = src + "/" + name, d = dst + "/" + name
            var st = stat()
            if lstat(s, &st) != 0 { throw RuntimeError.sys("tmpcopyup \(what): lstat \(name)") }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR {
                if mkdir(d, st.st_mode & 0o7777) != 0 && errno != EEXIST { throw RuntimeError.sys("tmpcopyup \(what): mkdir \(name)") }
                try copyTree(from: s, to: d, what: what)
            } else if kind == S_IFLNK {
                var buf = [CChar](repeating: 0, count: 4097)
                let n = readlink(s, &buf, 4096)
                if n < 0 { throw RuntimeError.sys("tmpcopyup \(what): readlink \(name)") }
                buf[n] = 0
                if symlink(buf, d) != 0 { throw RuntimeError.sys("tmpcopyup \(what): symlink \(name)") }
            } else if kind == S_IFREG {
                let i = cb_open(s, O_RDONLY | O_CLOEXEC, 0)
                if i < 0 { throw RuntimeError.sys("tmpcopyup \(what): open \(name)") }
                defer { close(i) }
                let o = cb_open(d, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, Int32(st.st_mode & 0o7777))
                if o < 0 { throw RuntimeError.sys("tmpcopyup \(what): create \(name)") }
                defer { close(o) }
                var buf = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(i, &buf, buf.count)
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { throw RuntimeError.sys("tmpcopyup \(what): read \(name)") }
                    if n == 0 { break }
                    try FS.writeAll(o, Array(buf[0..<n]), what: "tmpcopyup \(what): write \(name)")
                }
            } else {
                if mknod(d, st.st_mode, st.st_rdev) != 0 { throw RuntimeError.sys("tmpcopyup \(what): mknod \(name)") }
            }
            _ = lchown(d, st.st_uid, st.st_gid)
            if kind != S_IFLNK { chmod(d, st.st_mode & 0o7777) }
            var times = [st.st_atim, st.st_mtim]
            _ = utimensat(AT_FDCWD, d, &times, Int32(AT_SYMLINK_NOFOLLOW))
        }
    }

    private func makeMountPoint(_ dest: String, directory: Bool) throws(RuntimeError) {
        if FS.exists(dest) { return }
        if directory { try FS.mkdirAll(dest); return }
        try FS.mkdirAll(FS.dirname(dest))
        let fd = cb_open(dest, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        if fd < 0 { throw RuntimeError.sys("create mount point \(dest)") }
        close(fd)
    }

    /// The container sees only its own cgroup. With a new cgroup namespace the
    /// kernel does that for a fresh mount; otherwise we bind the container's own
    /// directories, as runc does.
    private func mountCgroup(_ dest: String, flags: UInt) throws(RuntimeError) {
        let ro = flags & O.MS_RDONLY
        let base = flags & (O.MS_NOSUID | O.MS_NODEV | O.MS_NOEXEC)
        switch cgroupHost {
        case .v2(let root):
            if newCgroupNamespace {
                try mount("cgroup2", dest, "cgroup2", base | ro, what: "mount cgroup2 on \(dest)")
            } else {
                try mount(root + cgroupPath, dest, "bind", O.MS_BIND | O.MS_REC, what: "bind mount cgroup on \(dest)")
                if ro != 0 { try mount(nil, dest, nil, O.MS_BIND | O.MS_REMOUNT | ro | MountOptions.lockedFlags(dest), what: "remount \(dest) read-only") }
            }
        case .v1(let controllers, let unified):
            try mount("tmpfs", dest, "tmpfs", base, data: "mode=755", what: "mount tmpfs on \(dest)")
            var mounts = Set(controllers.values)
            if let unified { mounts.insert(unified) }
            for mountPoint in mounts.sorted() {
                let name = String(mountPoint.split(separator: "/").last ?? "")
                guard !name.isEmpty else { continue }
                let target = dest + "/" + name
                try FS.mkdirAll(target)
                let source = FS.isDirectory(mountPoint + cgroupPath) ? mountPoint + cgroupPath : mountPoint
                try mount(source, target, "bind", O.MS_BIND | O.MS_REC, what: "bind mount cgroup \(name)")
                try mount(nil, target, nil, O.MS_BIND | O.MS_REMOUNT | base | ro | MountOptions.lockedFlags(target), what: "remount cgroup \(name)")
                // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
                if name.includes(",") {
                    for alias in name.split(separator: ",") where !FS.exists(dest + "/" + alias) {
                        symlink(name, dest + "/" + alias)
                    }
                }
            }
            if ro != 0 { try mount(nil, dest, nil, O.MS_REMOUNT | ro | base, data: "mode=755", what: "remount \(dest) read-only") }
        }
    }

    // MARK: /dev

    static let defaultDevices: [(String, UInt32, UInt32)] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ]

    private func createDefaultDevices() throws(RuntimeError) {
        let configured = Set((spec.linux?.devices ?? []).map { FS.cleanAbsolute($0.path) })
        for (path, major, minor) in Rootfs.defaultDevices where !configured.contains(path) {
            try createDevice(path: path, type: S_IFCHR, major: major, minor: minor, mode: 0o666, uid: 0, gid: 0)
        }
    }

    private func createConfigDevices() throws(RuntimeError) {
        for d in spec.linux?.devices ?? [] {
            let type: mode_t
            switch d.type {
            case "c", "u": type = S_IFCHR
            case "b": type = S_IFBLK
            case "p": type = S_IFIFO
            default: throw RuntimeError("linux.devices: \(d.path): invalid type \(d.type.debugDescription)")
            }
            if type != S_IFIFO, d.major == nil || d.minor == nil {
                throw RuntimeError("linux.devices: \(d.path): major and minor are required for type \(d.type)")
            }
            try createDevice(path: d.path, type: type, major: UInt32(d.major ?? 0), minor: UInt32(d.minor ?? 0),
                             mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0)
        }
    }

    /// mknod, or in a user namespace (where mknod is refused) a bind mount of the host's node.
    private func createDevice(path: String, type: mode_t, major: UInt32, minor: UInt32, mode: UInt32, uid: UInt32, gid: UInt32) throws(RuntimeError) {
        guard path.hasPrefix("/") else { throw RuntimeError("linux.devices: \(path.debugDescription) is not an absolute path") }
        let dest = try SecurePath.resolve(root: rootfs, path)
        try FS.mkdirAll(FS.dirname(dest))
        if inUserNamespace {
            try makeMountPoint(dest, directory: false)
            try mount(path, dest, "bind", O.MS_BIND, what: "bind mount device \(path)")
            return
        }
        if FS.lstatMode(dest) != nil { unlink(dest) }
        if cb_mknod(dest, UInt32(type) | (mode & 0o7777), major, minor) != 0 { throw RuntimeError.sys("mknod \(path)") }
        // mknod applies the umask; set the mode the config asked for exactly.
        try check("chmod \(path)") { chmod(dest, mode_t(mode & 0o7777)) }
        try check("chown \(path)") { chown(dest, uid, gid) }
    }

    private func createDevSymlinks() throws(RuntimeError) {
        var links = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                     ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")]
        if FS.exists("/proc/kcore") { links.append(("/proc/kcore", "/dev/core")) }
        for (target, link) in links {
            let p = rootfs + link
            if symlink(target, p) != 0 && errno != EEXIST { throw RuntimeError.sys("symlink \(link)") }
        }
        // /dev/ptmx must be the container's devpts instance, not the host's.
        let ptmx = rootfs + "/dev/ptmx"
        if FS.lstatMode(ptmx) != nil { unlink(ptmx) }
        if symlink("pts/ptmx", ptmx) != 0 { throw RuntimeError.sys("symlink /dev/ptmx") }
    }

    // MARK: after the createContainer hooks

    func pivot(noPivot: Bool) throws(RuntimeError) {
        if !ownMountNamespace {
            try check("chroot \(rootfs)") { chroot(rootfs) }
            try check("chdir /") { chdir("/") }
            return
        }
        if noPivot {
            try check("chdir \(rootfs)") { chdir(rootfs) }
            try mount(rootfs, "/", nil, O.MS_MOVE, what: "move rootfs to /")
            try check("chroot") { chroot(".") }
            try check("chdir /") { chdir("/") }
            return
        }
        let oldRoot = cb_open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC, 0)
        let newRoot = cb_open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC, 0)
        guard oldRoot >= 0, newRoot >= 0 else { throw RuntimeError.sys("open rootfs \(rootfs)") }
        defer { close(oldRoot); close(newRoot) }
        try check("fchdir rootfs") { fchdir(newRoot) }
        // pivot_root(".", ".") stacks the old root under the new one; no put_old directory needed.
        try check("pivot_root \(rootfs)") { cb_pivot_root(".", ".") }
        try check("fchdir old root") { fchdir(oldRoot) }
        // Make the old root a slave so that detaching it cannot propagate unmounts to the host.
        try mount(nil, ".", nil, O.MS_SLAVE | O.MS_REC, what: "make old root rslave")
        try check("unmount old root") { umount2(".", Int32(MNT_DETACH)) }
        try check("chdir /") { chdir("/") }
    }

    func finish() throws(RuntimeError) {
        if let p = spec.linux?.rootfsPropagation, let flags = O.propagations[p], flags & O.MS_SHARED != 0 {
            try mount(nil, "/", nil, flags, what: "set propagation of / to \(p)")
        }
        for path in spec.linux?.readonlyPaths ?? [] { try makeReadOnly(path) }
        for path in spec.linux?.maskedPaths ?? [] { try mask(path) }
        if spec.root?.readonly == true {
            try mount(nil, "/", nil, O.MS_BIND | O.MS_REMOUNT | O.MS_RDONLY | MountOptions.lockedFlags("/"), what: "remount / read-only")
        }
    }

    private func makeReadOnly(_ path: String) throws(RuntimeError) {
        if Glibc.mount(path, path, "", O.MS_BIND | O.MS_REC, nil) != 0 {
            if errno == ENOENT { return }
            throw RuntimeError.sys("bind mount readonly path \(path)")
        }
        try mount(nil, path, nil, O.MS_BIND | O.MS_REMOUNT | O.MS_RDONLY | O.MS_REC | MountOptions.lockedFlags(path),
                  what: "remount readonly path \(path)")
    }

    private func mask(_ path: String) throws(RuntimeError) {
        guard let kind = FS.lstatMode(path) else { return }
        if kind == S_IFDIR {
            try mount("tmpfs", path, "tmpfs", O.MS_RDONLY, what: "mask \(path)")
        } else if Glibc.mount("/dev/null", path, "", O.MS_BIND, nil) != 0 && errno != ENOENT {
            throw RuntimeError.sys("mask \(path)")
        }
    }
}
