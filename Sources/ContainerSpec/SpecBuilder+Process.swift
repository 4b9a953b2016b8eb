import RPC

extension SpecBuilder {
    /// Docker's PATH when the image and the user set none.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// process: args, env, cwd, terminal, user, capabilities, rlimits, no_new_privs, oom_score_adj.
    func process(_ input: Input, hostname: String, capabilities: [String], security: SecurityOptions) throws(ContainerSpecError) -> RuntimeConfig.Process {
        let config = input.config
        let hc = input.hostConfig
        let args = (config.entrypoint ?? []) + (config.cmd ?? [])
        guard let first = args.first, !first.isEmpty else {
            throw ContainerSpecError(.noCommand, "no command specified")
        }
        let cwd = nonEmpty(config.workingDir) ?? "/"
        guard cwd.hasPrefix("/") else {
            throw ContainerSpecError(.invalidConfig, "the working directory '\(cwd)' is invalid, it needs to be an absolute path")
        }
        let user = try UserResolver.resolve(config.user ?? "", rootfs: input.rootfs)
        let tty = config.tty ?? false

        var env = Self.environment(input.linkEnvironment + (config.env ?? []), hostname: hostname, tty: tty)
        // runc sets HOME at exec time from the same passwd entry; writing it here makes
        // it visible in the spec and independent of the runtime.
        if !env.contains(where: { $0.hasPrefix("HOME=") }) { env.append("HOME=" + user.home) }

        if let adj = hc.oomScoreAdj, !(-1000...1000).contains(adj) {
            throw ContainerSpecError(.invalidConfig, "invalid value \(adj), range for oom score adj is [-1000, 1000]")
        }
        let rlimits = try (hc.ulimits ?? []).map(Self.rlimit)
        return RuntimeConfig.Process(
            terminal: tty ? true : nil,
            user: .init(uid: user.uid, gid: user.gid, additionalGids: user.additionalGids),
            args: args,
            env: env,
            cwd: cwd,
            capabilities: .init(bounding: capabilities, effective: capabilities, permitted: capabilities),
            rlimits: rlimits.isEmpty ? nil : rlimits,
            noNewPrivileges: security.noNewPrivileges ? true : nil,
            apparmorProfile: (hc.privileged ?? false) ? nil : security.apparmor,
            oomScoreAdj: hc.oomScoreAdj.flatMap { $0 == 0 ? nil : $0 })
    }

    /// Docker's CreateDaemonEnvironment: PATH, HOSTNAME and (with a tty) TERM=xterm first,
    /// then the given variables (links', then the container's), each replacing an earlier
    /// one of the same name in place.
    public static func environment(_ env: [String], hostname: String, tty: Bool) -> [String] {
        var out = ["PATH=" + defaultPath, "HOSTNAME=" + hostname]
        if tty { out.append("TERM=xterm") }
        for entry in env {
            let name = BerthAPI.ContainerConfig.envName(entry)
            // "NAME" without "=" in Docker's API means "unset NAME": it removes a default.
            if !entry.contains("=") {
                out.removeAll { BerthAPI.ContainerConfig.envName($0) == name }
                continue
            }
            if let i = out.firstIndex(where: { BerthAPI.ContainerConfig.envName($0) == name }) { out[i] = entry } else { out.append(entry) }
        }
        return out
    }

    /// The rlimits Docker knows (go-units), by their ulimit names.
    static let rlimitNames: Set<String> = [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
        "rss", "rtprio", "rttime", "sigpending", "stack", "as",
    ]

    /// `--ulimit nofile=1024:2048` → {RLIMIT_NOFILE, soft 1024, hard 2048}; -1 is unlimited.
    static func rlimit(_ u: BerthAPI.Ulimit) throws(ContainerSpecError) -> RuntimeConfig.Rlimit {
        let name = u.name.lowercased()
        guard rlimitNames.contains(name) else { throw ContainerSpecError(.invalidUlimit, "invalid ulimit type: \(u.name)") }
        func value(_ v: Int64) throws(ContainerSpecError) -> UInt64 {
            if v == -1 { return UInt64.max }
            guard v >= 0 else { throw ContainerSpecError(.invalidUlimit, "invalid ulimit \(u.name) value \(v): must be -1 (unlimited) or at least 0") }
            return UInt64(v)
        }
        let soft = try value(u.soft), hard = try value(u.hard)
        guard soft <= hard else {
            throw ContainerSpecError(.invalidUlimit, "ulimit \(u.name): soft limit must be less than or equal to hard limit: \(u.soft) > \(u.hard)")
        }
        return .init(type: "RLIMIT_" + name.uppercased(), hard: hard, soft: soft)
    }
}
