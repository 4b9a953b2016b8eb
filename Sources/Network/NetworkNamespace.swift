import CBerth
import Glibc

/// A container's network namespace, made by berthd before the runtime makes
/// the container and joined by the spec at its path (the containerd/CRI and
/// podman way): the interfaces can be set up before the process runs, and torn
/// down after it exits, whatever the runtime does.
public enum NetworkNamespace {
    /// A new namespace with loopback up, pinned at `path` (which must not exist).
    public static func create(at path: String) throws(CNIError) {
        let rc = cb_netns_create(path)
        guard rc == 0 else { throw CNIError("cannot create the network namespace \(path): \(String(cString: strerror(-rc)))") }
    }

    /// Unpins and removes it; a missing one is fine.
    public static func remove(at path: String) {
        _ = umount2(path, Int32(MNT_DETACH))
        _ = unlink(path)
    }
}
