import Glibc

/// mount(8)-style options from config.json split into mount(2) flags, the
/// propagation to set afterwards, and the filesystem-specific data string.
struct MountOptions {
    var flags: UInt = 0
    var clearFlags: UInt = 0
    var propagation: [UInt] = []
    var data: [String] = []
    var isBind = false
    var recursiveReadOnly = false
    var copyUp = false

    static let MS_RDONLY: UInt = 1, MS_NOSUID: UInt = 2, MS_NODEV: UInt = 4, MS_NOEXEC: UInt = 8
    static let MS_SYNCHRONOUS: UInt = 16, MS_REMOUNT: UInt = 32, MS_MANDLOCK: UInt = 64, MS_DIRSYNC: UInt = 128
    static let MS_NOSYMFOLLOW: UInt = 256, MS_NOATIME: UInt = 1024, MS_NODIRATIME: UInt = 2048
    static let MS_BIND: UInt = 4096, MS_MOVE: UInt = 8192, MS_REC: UInt = 16384, MS_SILENT: UInt = 32768
    static let MS_UNBINDABLE: UInt = 1 << 17, MS_PRIVATE: UInt = 1 << 18, MS_SLAVE: UInt = 1 << 19, MS_SHARED: UInt = 1 << 20
    static let MS_RELATIME: UInt = 1 << 21, MS_STRICTATIME: UInt = 1 << 24, MS_LAZYTIME: UInt = 1 << 25

    static let setters: [String: UInt] = [
        "ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "sync": MS_SYNCHRONOUS,
        "dirsync": MS_DIRSYNC, "remount": MS_REMOUNT, "mand": MS_MANDLOCK, "noatime": MS_NOATIME,
        "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME,
        "lazytime": MS_LAZYTIME, "nosymfollow": MS_NOSYMFOLLOW, "silent": MS_SILENT,
    ]
    static let clearers: [String: UInt] = [
        "rw": MS_RDONLY, "suid": MS_NOSUID, "dev": MS_NODEV, "exec": MS_NOEXEC, "async": MS_SYNCHRONOUS,
        "nomand": MS_MANDLOCK, "atime": MS_NOATIME, "diratime": MS_NODIRATIME, "norelatime": MS_RELATIME,
        "nostrictatime": MS_STRICTATIME, "nolazytime": MS_LAZYTIME, "symfollow": MS_NOSYMFOLLOW, "loud": MS_SILENT,
        "defaults": 0,
    ]
    static let propagations: [String: UInt] = [
        "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC, "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
        "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC, "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
    ]

    init(_ options: [String]?, type: String?) throws(RuntimeError) {
        if type == "bind" { isBind = true }
        for opt in options ?? [] {
            if let f = MountOptions.setters[opt] { flags |= f; clearFlags &= ~f; continue }
            if let f = MountOptions.clearers[opt] { flags &= ~f; clearFlags |= f; continue }
            if let p = MountOptions.propagations[opt] { propagation.append(p); continue }
            switch opt {
            case "bind": isBind = true
            case "rbind": isBind = true; flags |= MountOptions.MS_REC
            case "rro": recursiveReadOnly = true
            case "rrw": break
            case "tmpcopyup": copyUp = true
            case "idmap", "ridmap":
                throw RuntimeError("mount option \"\(opt)\" (id-mapped mounts) is not supported yet")
            default:
                if opt.hasPrefix("r"), ["rnosuid", "rnodev", "rnoexec", "rnoatime", "rnodiratime", "rrelatime", "rstrictatime",
                                         "rsuid", "rdev", "rexec", "ratime", "rdiratime", "rnorelatime", "rnostrictatime",
                                         "rnosymfollow", "rsymfollow"].contains(opt) {
                    throw RuntimeError("mount option \(opt.debugDescription) (recursive mount attributes) is not supported yet")
                }
                data.append(opt)
            }
        }
    }

    var dataString: String { data.joined(separator: ",") }

    /// Flags a remount must carry over: in a user namespace the kernel locks
    /// nosuid/nodev/noexec/atime flags of a bind source, and a remount that drops
    /// them fails with EPERM.
    static func lockedFlags(_ path: String) -> UInt {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return 0 }
        var f: UInt = 0
        let v = UInt(st.f_flag)
        if v & 2 != 0 { f |= MS_NOSUID }
        if v & 4 != 0 { f |= MS_NODEV }
        if v & 8 != 0 { f |= MS_NOEXEC }
        if v & 1024 != 0 { f |= MS_NOATIME }
        if v & 2048 != 0 { f |= MS_NODIRATIME }
        if v & 4096 != 0 { f |= MS_RELATIME }
        return f
    }

}
