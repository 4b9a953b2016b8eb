import RPC

extension SpecBuilder {
    /// Docker's default mounts (moby daemon/pkg/oci/defaults.go), then `--tmpfs`, then the
    /// caller's mounts. A user mount replaces a default at the same destination.
    func mounts(_ input: Input, security: SecurityOptions) throws(ContainerSpecError) -> [RuntimeConfig.Mount] {
        let hc = input.hostConfig
        let privileged = hc.privileged ?? false
        var user = try Self.tmpfsMounts(hc.tmpfs ?? [:]) + input.extraMounts
        // Parents before children: "/data" is mounted before "/data/cache".
        user.sort { depth($0.destination) < depth($1.destination) }
        let userDestinations = Set(user.map { clean($0.destination) })

        var defaults: [RuntimeConfig.Mount] = [
            .init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            .init(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            .init(destination: "/dev/pts", type: "devpts", source: "devpts",
                  options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            .init(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"]),
            .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        ]
        if let shm = try shmMount(input) { defaults.append(shm) }

        if privileged {
            // Docker: a privileged container may write /sys and its cgroups.
            for i in defaults.indices where defaults[i].destination == "/sys" || defaults[i].type == "cgroup" {
                defaults[i].options = defaults[i].options?.filter { $0 != "ro" }
            }
        }
        if hc.readonlyRootfs ?? false {
            // Docker: with a read-only rootfs, the default mounts other than /proc and /dev*
            // are read-only too.
            for i in defaults.indices where !["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"].contains(defaults[i].destination) {
                if !(defaults[i].options ?? []).contains("ro") { defaults[i].options = (defaults[i].options ?? []) + ["ro"] }
            }
        }
        defaults.removeAll { userDestinations.contains($0.destination) }
        return defaults + user
    }

    /// /dev/shm by IpcMode: its own 64 MiB tmpfs (private, shareable, the default), the
    /// host's (host), the other container's (container:NAME, through /proc/PID/root of the
    /// namespace path the caller resolved), or none (none).
    func shmMount(_ input: Input) throws(ContainerSpecError) -> RuntimeConfig.Mount? {
        let own = RuntimeConfig.Mount(destination: "/dev/shm", type: "tmpfs", source: "shm",
                                      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])
        switch try namespaceMode(input.hostConfig.ipcMode, kind: .ipc, input: input) {
        case .new: return input.hostConfig.ipcMode == "none" ? nil : own
        case .host: return .init(destination: "/dev/shm", type: "bind", source: "/dev/shm", options: ["rbind", "nosuid", "noexec", "nodev"])
        case .join(let path):
            // "/proc/PID/ns/ipc" → "/proc/PID/root/dev/shm": the other container's /dev/shm.
            guard path.hasPrefix("/proc/"), path.hasSuffix("/ns/ipc") else { return own }
            let procDir = String(path.dropLast("/ns/ipc".count))
            return .init(destination: "/dev/shm", type: "bind", source: procDir + "/root/dev/shm", options: ["rbind", "nosuid", "noexec", "nodev"])
        }
    }

    /// `--tmpfs /run:size=64m,mode=1777`: Docker's defaults noexec, nosuid, nodev (and
    /// rprivate propagation), overridden by the user's options.
    public static func tmpfsMounts(_ tmpfs: [String: String]) throws(ContainerSpecError) -> [RuntimeConfig.Mount] {
        try tmpfs.keys.sorted().map { (dest) throws(ContainerSpecError) -> RuntimeConfig.Mount in
            guard dest.hasPrefix("/") else { throw ContainerSpecError(.invalidMount, "invalid mount path for --tmpfs: \(dest) is not absolute") }
            guard clean(dest) != "/" else { throw ContainerSpecError(.invalidMount, "invalid mount path for --tmpfs: / cannot be a tmpfs") }
            let given = (tmpfs[dest] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
            return .init(destination: clean(dest), type: "tmpfs", source: "tmpfs",
                         options: mergeOptions(["noexec", "nosuid", "nodev", "rprivate"], given))
        }
    }

    /// Mount options with the later ones winning (Docker's MergeTmpfsOptions): a flag replaces
    /// its opposite (exec/noexec, ro/rw…), KEY=VALUE replaces an earlier KEY=.
    static func mergeOptions(_ defaults: [String], _ given: [String]) -> [String] {
        let opposites: [[String]] = [["ro", "rw"], ["exec", "noexec"], ["suid", "nosuid"], ["dev", "nodev"],
                                     ["atime", "noatime"], ["diratime", "nodiratime"], ["relatime", "norelatime"],
                                     ["strictatime", "nostrictatime"], ["sync", "async"],
                                     ["private", "rprivate", "shared", "rshared", "slave", "rslave"]]
        func group(_ o: String) -> String {
            if let eq = o.firstIndex(of: "=") { return String(o[..<eq]) + "=" }
            return opposites.first { $0.contains(o) }?.first ?? o
        }
        var out = defaults
        for o in given {
            if let i = out.firstIndex(where: { group($0) == group(o) }) { out[i] = o } else { out.append(o) }
        }
        return out
    }
}

/// "/a//b/" → "/a/b".
func clean(_ path: String) -> String {
    let parts = path.split(separator: "/")
    return "/" + parts.joined(separator: "/")
}

func depth(_ path: String) -> Int { path.split(separator: "/").count }
