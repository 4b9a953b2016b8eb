import Glibc
import OCI

/// The config.json that `spec` writes: runc's default (a `sh` on a terminal,
/// the default capability set, masked and read-only /proc paths), or the
/// rootless variant (own user namespace mapping the caller, no network namespace).
public enum DefaultSpec {
    static let capabilities: JSONValue = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

    public static func make(rootless: Bool) -> JSONValue {
        var mounts: [JSONValue] = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
            ["destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": rootless ? ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
                                 : ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]],
            ["destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]],
            ["destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]],
        ]
        if rootless {
            mounts.append(["destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]])
        } else {
            mounts.append(["destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]])
            mounts.append(["destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]])
        }
        var namespaces: [JSONValue] = [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]]
        if rootless { namespaces.append(["type": "user"]) } else { namespaces.insert(["type": "network"], at: 1) }
        var linux: [(String, JSONValue)] = []
        if rootless {
            linux.append(("uidMappings", [["containerID": 0, "hostID": .int(getuid()), "size": 1]]))
            linux.append(("gidMappings", [["containerID": 0, "hostID": .int(getgid()), "size": 1]]))
        } else {
            linux.append(("resources", ["devices": [["allow": false, "access": "rwm"]]]))
        }
        linux.append(("namespaces", .array(namespaces)))
        linux.append(("maskedPaths", ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                      "/proc/scsi"]))
        linux.append(("readonlyPaths", ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]))
        return [
            "ociVersion": .string(RuntimeInfo.ociVersion),
            "process": [
                "terminal": true,
                "user": ["uid": 0, "gid": 0],
                "args": ["sh"],
                "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": ["bounding": capabilities, "effective": capabilities, "permitted": capabilities, "ambient": capabilities],
                "rlimits": [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]],
                "noNewPrivileges": true,
            ],
            "root": ["path": "rootfs", "readonly": true],
            "hostname": "berth",
            "mounts": .array(mounts),
            "linux": .object(linux),
        ]
    }
}

/// What `features` prints (runtime-spec features.md): what this build implements.
public enum Features {
    public static func json() -> JSONValue {
        let mountOptions = (MountOptions.setters.keys.sorted() + MountOptions.clearers.keys.sorted()
            + MountOptions.propagations.keys.sorted() + ["bind", "rbind", "rro", "rrw"]).sorted()
        return [
            "ociVersionMin": "1.0.0",
            "ociVersionMax": .string(RuntimeInfo.ociVersion),
            "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            "mountOptions": .array(mountOptions.map { .string($0) }),
            "linux": [
                "namespaces": .array(NamespaceKind.allCases.map { .string($0.rawValue) }),
                "capabilities": .array(Capability.names.prefix(Capability.lastCap + 1).map { .string($0) }),
                "cgroup": ["v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": true],
                "seccomp": ["enabled": true],
                "apparmor": ["enabled": true],
                "selinux": ["enabled": true],
                "intelRdt": ["enabled": false],
                "mountExtensions": ["idmap": ["enabled": false]],
            ],
            "annotations": ["org.berth.runtime.version": .string(RuntimeInfo.version)],
        ]
    }
}
