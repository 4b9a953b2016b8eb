import RPC

/// `--ulimit nofile=1024:2048` (soft:hard; one value sets both), as Docker's go-units ParseUlimit.
enum UlimitSpec {
    static let names: Set<String> = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                                     "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"]

    static func parse(_ spec: String) throws(OptionError) -> BerthAPI.Ulimit {
        let parts = spec.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw OptionError("invalid ulimit argument: \(spec)") }
        let name = String(parts[0])
        guard names.contains(name) else { throw OptionError("invalid ulimit type: \(name)") }
        let limits = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard limits.count <= 2, let soft = Int64(limits[0]) else { throw OptionError("invalid ulimit argument: \(spec)") }
        var hard = soft
        if limits.count == 2 {
            guard let h = Int64(limits[1]) else { throw OptionError("invalid ulimit argument: \(spec)") }
            hard = h
        }
        if soft > hard && hard != -1 {
            throw OptionError("ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
        return BerthAPI.Ulimit(name: name, soft: soft, hard: hard)
    }
}

/// `--device /dev/x[:/dev/y][:rwm]` as Docker parses it.
enum DeviceSpec {
    static func parse(_ spec: String) throws(OptionError) -> BerthAPI.DeviceMapping {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var src = "", dst = "", mode = "rwm"
        switch parts.count {
        case 1: src = parts[0]
        case 2:
            src = parts[0]
            if validMode(parts[1]) { mode = parts[1] } else { dst = parts[1] }
        case 3:
            src = parts[0]; dst = parts[1]; mode = parts[2]
        default: throw OptionError("invalid device specification: \(spec)")
        }
        guard validMode(mode) else { throw OptionError("invalid device mode: \(mode)") }
        if dst.isEmpty { dst = src }
        guard src.hasPrefix("/") else { throw OptionError("\(spec) is not an absolute path") }
        guard dst.hasPrefix("/") else { throw OptionError("\(dst) is not an absolute path") }
        return BerthAPI.DeviceMapping(pathOnHost: src, pathInContainer: dst, cgroupPermissions: mode)
    }

    /// "r", "w", "m" each at most once.
    static func validMode(_ m: String) -> Bool {
        !m.isEmpty && m.count <= 3 && m.allSatisfy { "rwm".contains($0) } && Set(m).count == m.count
    }
}

/// `--restart no|always|unless-stopped|on-failure[:max-retries]`.
enum RestartSpec {
    static func parse(_ spec: String) throws(OptionError) -> BerthAPI.RestartPolicy {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts[0]
        switch name {
        case "", "no", "always", "unless-stopped":
            if parts.count == 2 { throw OptionError("invalid restart policy: maximum retry count can only be used with 'on-failure'") }
            return BerthAPI.RestartPolicy(name: name.isEmpty ? "no" : name)
        case "on-failure":
            var count = 0
            if parts.count == 2 {
                guard let n = Int(parts[1]) else { throw OptionError("invalid restart policy format: maximum retry count must be an integer") }
                guard n >= 0 else { throw OptionError("invalid restart policy: maximum retry count cannot be negative") }
                count = n
            }
            return BerthAPI.RestartPolicy(name: name, maximumRetryCount: count)
        default:
            throw OptionError("invalid restart policy: unknown policy '\(name)'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")
        }
    }
}
