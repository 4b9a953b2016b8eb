import OCI
import RPC

extension ContainerService {
    /// config.json for the container's task.
    /// TODO(ContainerSpec): replaced by the ContainerSpec module's builder (user lookup, seccomp, resources).
    func renderSpec(_ r: ContainerRecord, rootfs: String) throws -> [UInt8] {
        let c = r.config
        let args = (c.entrypoint ?? []) + (c.cmd ?? [])
        var env = c.env ?? []
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0) }
        env.append("HOSTNAME=" + (c.hostname ?? r.shortID))
        if c.tty == true { env.append("TERM=xterm") }
        var uid: Int64 = 0, gid: Int64 = 0
        if let u = c.user, !u.isEmpty {
            let parts = u.split(separator: ":")
            uid = Int64(parts[0]) ?? 0
            if parts.count > 1 { gid = Int64(parts[1]) ?? 0 }
        }
        let caps: [JSONValue] = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
                                 "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
        let spec: JSONValue = .object([
            ("ociVersion", "1.0.2"),
            ("process", .object([
                ("terminal", .bool(c.tty ?? false)),
                ("user", ["uid": .int(uid), "gid": .int(gid)]),
                ("args", .array(args.map(JSONValue.string))),
                ("env", .array(env.map(JSONValue.string))),
                ("cwd", .string((c.workingDir ?? "").isEmpty ? "/" : c.workingDir!)),
                ("capabilities", ["bounding": .array(caps), "effective": .array(caps), "permitted": .array(caps)]),
            ])),
            ("root", ["path": .string(rootfs), "readonly": .bool(r.hostConfig.readonlyRootfs ?? false)]),
            ("hostname", .string(c.hostname ?? r.shortID)),
            ("mounts", [
                ["destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]],
                ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
                ["destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]],
                ["destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]],
                ["destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]],
                ["destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]],
            ]),
            ("linux", .object([
                ("namespaces", [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"], ["type": "network"]]),
                ("cgroupsPath", .string("/berth/" + r.id)),
                ("maskedPaths", ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                                 "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]),
                ("readonlyPaths", ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]),
            ])),
        ])
        return Array(JSONWriter.write(spec).utf8)
    }
}
