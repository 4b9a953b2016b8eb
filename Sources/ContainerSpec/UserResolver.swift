import CBerth
import Glibc

/// The process user of `--user`/USER, resolved as Docker does (runc's libcontainer/user
/// GetExecUser): "name", "uid", "name:group", "uid:gid", "", against the rootfs's
/// /etc/passwd and /etc/group. Numeric ids need no entry; names do.
public struct ResolvedUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// The primary gid first, then the groups that list the user (implicit group only), as Docker's spec.
    public var additionalGids: [UInt32]
    /// The passwd entry's home, "/" without one: HOME when the image does not set it.
    public var home: String

    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32], home: String) {
        self.uid = uid; self.gid = gid; self.additionalGids = additionalGids; self.home = home
    }
}

public enum UserResolver {
    /// Resolves `spec` against the files of `rootfs` (read inside it: see RootfsFile).
    public static func resolve(_ spec: String, rootfs: String) throws(ContainerSpecError) -> ResolvedUser {
        let passwd = try RootfsFile.read("/etc/passwd", in: rootfs)
        let group = try RootfsFile.read("/etc/group", in: rootfs)
        return try resolve(spec, passwd: passwd, group: group)
    }

    /// The same over file contents; nil = the file does not exist.
    public static func resolve(_ spec: String, passwd: String?, group: String?) throws(ContainerSpecError) -> ResolvedUser {
        let (userArg, groupArg) = splitSpec(spec)
        let uidArg = parseID(userArg)
        let gidArg = parseID(groupArg)
        var uid: UInt32 = 0, gid: UInt32 = 0, home = "/"
        var matchedName: String?

        let entries = passwd.map(parsePasswd) ?? []
        let match = entries.first { entry in
            if userArg.isEmpty { return entry.uid == 0 }
            if let uidArg { return entry.uid == uidArg }
            return entry.name == userArg
        }
        if let match {
            matchedName = match.name
            uid = match.uid; gid = match.gid; home = match.home
        } else if !userArg.isEmpty {
            guard let uidArg else {
                throw ContainerSpecError(.unknownUser, "unable to find user \(userArg): no matching entries in passwd file")
            }
            uid = uidArg
        }

        var supplementary: [UInt32] = []
        if !groupArg.isEmpty || matchedName != nil {
            let groups = (group.map(parseGroup) ?? []).filter { g in
                if groupArg.isEmpty { return g.members.contains(matchedName ?? "") }
                if let gidArg { return g.gid == gidArg }
                return g.name == groupArg
            }
            if !groupArg.isEmpty {
                if let first = groups.first {
                    gid = first.gid
                } else {
                    guard let gidArg else {
                        throw ContainerSpecError(.unknownUser, "unable to find group \(groupArg): no matching entries in group file")
                    }
                    gid = gidArg
                }
            } else {
                supplementary = groups.map(\.gid)
            }
        }
        return ResolvedUser(uid: uid, gid: gid, additionalGids: [gid] + supplementary, home: home)
    }

    /// "user:group" → ("user", "group"); fields after a second ":" are ignored, as runc does.
    static func splitSpec(_ spec: String) -> (String, String) {
        let f = spec.split(separator: ":", omittingEmptySubsequences: false)
        return (String(f[0]), f.count > 1 ? String(f[1]) : "")
    }

    /// A decimal id in 0…2³¹−1 (runc's range); anything else is a name.
    static func parseID(_ s: String) -> UInt32? {
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt32(s), v <= Int32.max else { return nil }
        return v
    }

    struct PasswdEntry { var name: String; var uid: UInt32; var gid: UInt32; var home: String }
    struct GroupEntry { var name: String; var gid: UInt32; var members: [String] }

    /// name:password:uid:gid:gecos:home:shell; lines that do not parse are skipped (as runc does).
    static func parsePasswd(_ text: String) -> [PasswdEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 4, !f[0].isEmpty, !f[0].hasPrefix("#"), let uid = parseID(f[2]), let gid = parseID(f[3]) else { return nil }
            return PasswdEntry(name: f[0], uid: uid, gid: gid, home: f.count > 5 && !f[5].isEmpty ? f[5] : "/")
        }
    }

    /// name:password:gid:member,member
    static func parseGroup(_ text: String) -> [GroupEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 3, !f[0].isEmpty, !f[0].hasPrefix("#"), let gid = parseID(f[2]) else { return nil }
            let members = f.count > 3 ? f[3].split(separator: ",").map { String($0).trimmingSpaces() } : []
            return GroupEntry(name: f[0], gid: gid, members: members)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

/// Reads a file of a container's rootfs as the container would see it: the path is
/// resolved by the kernel with the rootfs as "/" (openat2 RESOLVE_IN_ROOT), so an image
/// whose /etc/passwd is a symlink to /etc/shadow, or to ../../../../etc/shadow, reads its
/// own files, never the host's. O_NONBLOCK and the regular-file check keep a FIFO or a
/// device planted at that path from hanging or feeding the manager.
public enum RootfsFile {
    /// Its text, nil when it does not exist (or a component is not a directory).
    public static func read(_ path: String, in rootfs: String, limit: Int = 16 << 20) throws(ContainerSpecError) -> String? {
        let root = cb_open(rootfs, CB_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        guard root >= 0 else {
            throw ContainerSpecError(.rootfs, "cannot open rootfs \(rootfs): \(String(cString: strerror(errno)))")
        }
        defer { close(root) }
        let fd = cb_openat_in_root(root, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0)
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR || e == ELOOP { return nil }
            throw ContainerSpecError(.rootfs, "cannot open \(path) in the rootfs: \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw ContainerSpecError(.rootfs, "\(path) in the rootfs is not a regular file")
        }
        guard let text = readAll(fd: fd, limit: limit) else {
            throw ContainerSpecError(.rootfs, "cannot read \(path) in the rootfs (larger than \(limit) bytes or unreadable)")
        }
        return text
    }
}
