import CArchive
import CBerth
import Glibc
import RPC

/// A container's rootfs lives in its shim's mount namespace (`berth-shim start
/// --private-mounts`), not in the host's: berthd mounts it there from a thread
/// that joins that namespace, and reaches it later through the shim's
/// `/proc/<pid>/root`. The host's mount table so stays the same size however
/// many containers run, and with it the cost of every container's clone, which
/// copies the whole table (docs/containers.md, the start steps).
enum ShimMountNamespace {
    /// `path` (a host path under the bundle) as seen in the shim's namespace.
    static func path(_ path: String, shimPid: Int32) -> String { "/proc/\(shimPid)/root" + path }

    /// Runs `body` on a thread of its own inside the mount namespace of `shimPid`,
    /// and waits for it. setns into a mount namespace needs a thread that shares
    /// no fs_struct (unshare(CLONE_FS) first); the thread ends with `body`, so
    /// no other thread of berthd ever leaves the host's namespace (which is why
    /// the work never runs on the caller's thread, even without a thread to
    /// spare). Threads that `body` starts are in the shim's namespace too.
    static func run(shimPid: Int32, _ body: @escaping () throws -> Void) throws {
        let nsFD = open("/proc/\(shimPid)/ns/mnt", O_RDONLY | O_CLOEXEC)
        guard nsFD >= 0 else {
            throw BerthError(.internal, "open the mount namespace of shim \(shimPid): \(ContainerFS.errorText())")
        }
        defer { close(nsFD) }
        var result: Result<Void, any Error> = .success(())
        guard let tid = Thread.joinable({
            if ca_unshare_fs() != 0 {
                result = .failure(BerthError(.internal, "unshare(CLONE_FS): \(ContainerFS.errorText())"))
            } else if cb_setns(nsFD, 0x0002_0000 /* CLONE_NEWNS */) != 0 {
                result = .failure(BerthError(.internal, "join the shim's mount namespace: \(ContainerFS.errorText())"))
            } else {
                do { try body() } catch { result = .failure(error) }
            }
        }) else { throw BerthError(.internal, "cannot start a thread to mount the container's rootfs") }
        pthread_join(tid, nil)
        try result.get()
    }
}
