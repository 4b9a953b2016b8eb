import Glibc

/// Who is on the other end of a unix socket connection (SO_PEERCRED), for
/// logs and for decisions that depend on the caller.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    static func of(socket fd: Int32) -> PeerCredentials? {
        // struct ucred {pid_t pid; uid_t uid; gid_t gid;}: Glibc's module hides
        // it behind _GNU_SOURCE, so it is read as three 32-bit fields.
        var cred: (Int32, UInt32, UInt32) = (0, 0, 0)
        var len = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0, len == 12 else { return nil }
        return PeerCredentials(pid: cred.0, uid: cred.1, gid: cred.2)
    }
}
