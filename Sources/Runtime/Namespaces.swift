import Glibc

/// The namespace kinds of config-linux.md with their clone flags and /proc names.
enum NamespaceKind: String, CaseIterable {
    case pid, network, mount, ipc, uts, user, cgroup, time

    var cloneFlag: Int32 {
        switch self {
        case .pid: return 0x2000_0000       // CLONE_NEWPID
        case .network: return 0x4000_0000   // CLONE_NEWNET
        case .mount: return 0x0002_0000     // CLONE_NEWNS
        case .ipc: return 0x0800_0000       // CLONE_NEWIPC
        case .uts: return 0x0400_0000       // CLONE_NEWUTS
        case .user: return 0x1000_0000      // CLONE_NEWUSER
        case .cgroup: return 0x0200_0000    // CLONE_NEWCGROUP
        case .time: return 0x0000_0080      // CLONE_NEWTIME
        }
    }

    /// The file under /proc/<pid>/ns/.
    var procName: String {
        switch self {
        case .network: return "net"
        case .mount: return "mnt"
        default: return rawValue
        }
    }

    /// Order in which namespaces are joined: user first (it grants the rights
    /// for the others), mount last (after it, host paths are no longer visible).
    static let joinOrder: [NamespaceKind] = [.user, .ipc, .uts, .network, .pid, .cgroup, .time, .mount]
}

/// Whether the calling process and `pid` share a namespace of this kind.
func sameNamespace(_ kind: NamespaceKind, _ pathA: String, _ pathB: String) -> Bool {
    var a = stat(), b = stat()
    guard stat(pathA, &a) == 0, stat(pathB, &b) == 0 else { return false }
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev
}
