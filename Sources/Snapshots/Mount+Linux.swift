import CArchive
import Glibc

/// mount(2) and umount2(2) for `Mount` values.
extension Mount {
    /// Mounts at `target` (or at `self.target` when nil).
    public func mount(at target: String? = nil) throws {
        guard let target = target ?? self.target else {
            throw SnapshotError(.invalidArgument, "\(self): no target to mount at")
        }
        var flags: UInt = 0
        var propagation: UInt = 0
        var data: [String] = []
        for option in options {
            if let (set, clear) = Mount.flagTable[option] {
                flags = (flags | set) & ~clear
            } else if let p = Mount.propagationTable[option] {
                propagation = p
            } else {
                data.append(option)
            }
        }
        let isBind = flags & UInt(MS_BIND) != 0 || type == "bind"
        if isBind {
            flags |= UInt(MS_BIND)
            // The kernel ignores MS_RDONLY (and the other per-mount flags) on the first bind:
            // they take effect only through a remount of the new bind mount.
            try Mount.call(source, target, nil, flags & (UInt(MS_BIND) | UInt(MS_REC)), nil, what: "bind \(source) on \(target)")
            let rest = flags & ~(UInt(MS_BIND) | UInt(MS_REC))
            if rest != 0 {
                do {
                    try Mount.call("", target, nil, rest | UInt(MS_BIND) | UInt(MS_REMOUNT), nil, what: "remount \(target) \(options.joined(separator: ","))")
                } catch {
                    umount2(target, Int32(MNT_DETACH))
                    throw error
                }
            }
        } else {
            let joined = data.joined(separator: ",")
            if type == "overlay", joined.utf8.count >= Mount.pageSize - 1 {
                try mountOverlayCompacted(target: target, flags: flags, data: data)
            } else {
                try Mount.call(source, target, type, flags, joined.isEmpty ? nil : joined, what: "mount \(type) on \(target) (\(joined))")
            }
        }
        if propagation != 0 {
            try Mount.call("", target, nil, propagation, nil, what: "set propagation of \(target)")
        }
    }

    /// Mounts each in order at `target` (stacked), undoing the earlier ones when one fails.
    public static func mountAll(_ mounts: [Mount], at target: String) throws {
        for (i, m) in mounts.enumerated() {
            do {
                try m.mount(at: target)
            } catch {
                for _ in 0..<i { try? unmount(target, detach: true) }
                throw error
            }
        }
    }

    /// Unmounts one mount at `target`. A busy mount is retried for about half a
    /// second (a process leaving it, an fd being closed) before giving up, unless
    /// `detach` asks for a lazy unmount.
    public static func unmount(_ target: String, detach: Bool = false) throws {
        for attempt in 0..<50 {
            if umount2(target, detach ? Int32(MNT_DETACH) : 0) == 0 { return }
            let err = errno
            if err == EBUSY, attempt < 49 {
                usleep(10_000)
                continue
            }
            throw SnapshotError.errno("unmount \(target)", err)
        }
    }

    /// Unmounts everything stacked at `target`; true when something was unmounted.
    /// Not being a mount point (EINVAL) or not existing (ENOENT) ends the loop.
    @discardableResult
    public static func unmountAll(_ target: String, detach: Bool = false) throws -> Bool {
        var any = false
        while true {
            if umount2(target, detach ? Int32(MNT_DETACH) : 0) == 0 { any = true; continue }
            let err = errno
            if err == EINVAL || err == ENOENT { return any }
            if err == EBUSY {
                try unmount(target, detach: detach)
                any = true
                continue
            }
            throw SnapshotError.errno("unmount \(target)", err)
        }
    }

    // MARK: -

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// option → (flags to set, flags to clear), as mount(8) spells them.
    static let flagTable: [String: (UInt, UInt)] = [
        "ro": (UInt(MS_RDONLY), 0), "rw": (0, UInt(MS_RDONLY)),
        "bind": (UInt(MS_BIND), 0), "rbind": (UInt(MS_BIND) | UInt(MS_REC), 0),
        "nosuid": (UInt(MS_NOSUID), 0), "suid": (0, UInt(MS_NOSUID)),
        "nodev": (UInt(MS_NODEV), 0), "dev": (0, UInt(MS_NODEV)),
        "noexec": (UInt(MS_NOEXEC), 0), "exec": (0, UInt(MS_NOEXEC)),
        "sync": (UInt(MS_SYNCHRONOUS), 0), "async": (0, UInt(MS_SYNCHRONOUS)),
        "noatime": (UInt(MS_NOATIME), 0), "atime": (0, UInt(MS_NOATIME)),
        "nodiratime": (UInt(MS_NODIRATIME), 0), "diratime": (0, UInt(MS_NODIRATIME)),
        "relatime": (UInt(MS_RELATIME), 0), "norelatime": (0, UInt(MS_RELATIME)),
        "strictatime": (UInt(MS_STRICTATIME), 0),
        "remount": (UInt(MS_REMOUNT), 0),
    ]

    static let propagationTable: [String: UInt] = [
        "private": UInt(MS_PRIVATE), "rprivate": UInt(MS_PRIVATE) | UInt(MS_REC),
        "shared": UInt(MS_SHARED), "rshared": UInt(MS_SHARED) | UInt(MS_REC),
        "slave": UInt(MS_SLAVE), "rslave": UInt(MS_SLAVE) | UInt(MS_REC),
        "unbindable": UInt(MS_UNBINDABLE), "runbindable": UInt(MS_UNBINDABLE) | UInt(MS_REC),
    ]

    static func call(_ source: String, _ target: String, _ fstype: String?, _ flags: UInt, _ data: String?, what: String) throws {
        if Glibc.mount(source, target, fstype, flags, data) != 0 {
            throw SnapshotError.errno(what)
        }
    }

    /// The kernel copies mount data into one page: a deep overlay (many lowerdirs
    /// with long absolute paths) does not fit. As containerd does, the paths are
    /// made relative to their common directory and the mount is done from there,
    /// on a thread of its own with a private cwd (unshare(CLONE_FS)) so that the
    /// rest of the process keeps its working directory.
    private func mountOverlayCompacted(target: String, flags: UInt, data: [String]) throws {
        let pathKeys = ["lowerdir", "upperdir", "workdir"]
        var paths: [String] = []
        for option in data {
            guard let eq = option.firstIndex(of: "="), pathKeys.contains(String(option[..<eq])) else { continue }
            paths += option[option.index(after: eq)...].split(separator: ":").map(String.init)
        }
        let common = Mount.commonDirectory(paths)
        guard common != "/", target.hasPrefix("/") else {
            throw SnapshotError(.invalidArgument, "overlay mount options for \(target) are \(data.joined(separator: ",").utf8.count) bytes, more than a page, with no common directory to shorten them")
        }
        let relative = data.map { option -> String in
            guard let eq = option.firstIndex(of: "="), pathKeys.contains(String(option[..<eq])) else { return option }
            let key = option[..<eq]
            let list = option[option.index(after: eq)...].split(separator: ":").map { String($0.dropFirst(common.count + 1)) }
            return key + "=" + list.joined(separator: ":")
        }.joined(separator: ",")
        guard relative.utf8.count < Mount.pageSize - 1 else {
            throw SnapshotError(.invalidArgument, "overlay mount options for \(target) are \(relative.utf8.count) bytes even with paths relative to \(common), more than a page")
        }
        let source = self.source
        let err = PrivateFSThread.run {
            if ca_unshare_fs() != 0 { return errno }
            if chdir(common) != 0 { return errno }
            return Glibc.mount(source, target, "overlay", flags, relative) == 0 ? 0 : errno
        }
        if err != 0 {
            throw SnapshotError.errno("mount overlay on \(target) from \(common) (\(relative))", err)
        }
    }

    /// The deepest directory containing every path ("/" when they share none).
    static func commonDirectory(_ paths: [String]) -> String {
        guard var prefix = paths.first?.split(separator: "/", omittingEmptySubsequences: true).dropLast().map(String.init) else { return "/" }
        for path in paths.dropFirst() {
            let parts = path.split(separator: "/", omittingEmptySubsequences: true).dropLast().map(String.init)
            var n = 0
            while n < prefix.count, n < parts.count, prefix[n] == parts[n] { n += 1 }
            prefix = Array(prefix[..<n])
        }
        return "/" + prefix.joined(separator: "/")
    }
}

/// Runs a closure on a new thread and waits for it: for calls that change
/// per-thread state (unshare(CLONE_FS) + chdir) which must not leak into a
/// thread the rest of the program keeps using. The thread ends with the call.
enum PrivateFSThread {
    private final class Job {
        let body: () -> Int32
        var result: Int32 = 0
        init(_ body: @escaping () -> Int32) { self.body = body }
    }

    static func run(_ body: @escaping () -> Int32) -> Int32 {
        let job = Job(body)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            let job = Unmanaged<Job>.fromOpaque(arg!).takeUnretainedValue()
            job.result = job.body()
            return nil
        }, Unmanaged.passUnretained(job).toOpaque())
        guard rc == 0 else { return rc }
        pthread_join(thread, nil)
        return withExtendedLifetime(job) { job.result }
    }
}
