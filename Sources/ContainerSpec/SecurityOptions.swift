/// `--security-opt` values, as Docker reads them (KEY=VALUE, or the older KEY:VALUE).
struct SecurityOptions: Sendable {
    enum Seccomp: Sendable { case `default`, unconfined, profile(SeccompProfile) }

    var seccomp: Seccomp = .default
    var noNewPrivileges = false
    /// An AppArmor profile by name (none is applied by default: berth-runtime refuses
    /// a profile on a host without AppArmor).
    var apparmor: String?
    /// `systempaths=unconfined`: no masked or read-only paths.
    var unconfinedSystemPaths = false

    /// `seccompProfile` is the JSON the CLI read for `seccomp=FILE`; a `seccomp=` value
    /// that is JSON text itself (what Docker's CLI sends) works too.
    init(_ options: [String], seccompProfile: String?) throws(ContainerSpecError) {
        if let json = seccompProfile, !json.isEmpty { seccomp = .profile(try SeccompProfile(json: json)) }
        for opt in options {
            if opt == "no-new-privileges" { noNewPrivileges = true; continue }
            let sep = opt.firstIndex(where: { $0 == "=" || $0 == ":" })
            guard let sep else { throw ContainerSpecError(.invalidSecurityOpt, "invalid --security-opt: \(opt)") }
            let key = opt[..<sep], value = String(opt[opt.index(after: sep)...])
            switch key {
            case "seccomp":
                switch value {
                case "unconfined": seccomp = .unconfined
                case "builtin", "": if seccompProfile == nil { seccomp = .default }
                default:
                    if value.hasPrefix("{") { seccomp = .profile(try SeccompProfile(json: value)) }
                    else if seccompProfile == nil {
                        throw ContainerSpecError(.invalidSeccompProfile,
                            "seccomp profile \(value) was named but its contents were not sent (HostConfig.SeccompProfile is empty)")
                    }
                }
            case "no-new-privileges":
                switch value {
                case "true", "": noNewPrivileges = true
                case "false": noNewPrivileges = false
                default: throw ContainerSpecError(.invalidSecurityOpt, "invalid --security-opt 2: \(opt)")
                }
            case "apparmor":
                apparmor = value == "unconfined" ? nil : value
            case "systempaths":
                guard value == "unconfined" else { throw ContainerSpecError(.invalidSecurityOpt, "invalid --security-opt: \(opt)") }
                unconfinedSystemPaths = true
            case "label":
                // SELinux labels: Berth applies none; "label=disable" asks for exactly that.
                continue
            default:
                throw ContainerSpecError(.invalidSecurityOpt, "invalid --security-opt: \(opt)")
            }
        }
    }
}
