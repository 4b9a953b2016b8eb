/// `-v/--volume`, `--mount` and `--tmpfs`, kept in HostConfig's Docker forms
/// (Binds, Config.Volumes, Tmpfs) for berthd's volumes (issue 7).
enum VolumeSpec {
    /// Where one `-v` or `--mount` lands.
    enum Target: Equatable {
        /// "SOURCE:/path[:options]" in HostConfig.Binds.
        case bind(String)
        /// An anonymous volume at this path (Config.Volumes).
        case anonymous(String)
        /// A tmpfs at this path with these options (HostConfig.Tmpfs).
        case tmpfs(String, String)
    }

    /// `-v /data`, `-v name:/data`, `-v /host:/data:ro`, `-v ./dir:/data`
    /// (a relative source starting with "." is made absolute, as Docker's CLI does).
    static func volume(_ spec: String, cwd: String) throws(OptionError) -> Target {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let bad = OptionError("invalid volume specification: '\(spec)'")
        switch parts.count {
        case 1:
            guard spec.hasPrefix("/") else { throw bad }
            return .anonymous(spec)
        case 2, 3:
            var source = parts[0]
            let dest = parts[1]
            guard !source.isEmpty, dest.hasPrefix("/") else { throw bad }
            if dest == "/" { throw OptionError("invalid volume specification: '\(spec)': invalid mount config: destination can't be '/'") }
            if source.hasPrefix(".") { source = absolute(source, cwd: cwd) }
            if !source.hasPrefix("/") && !validVolumeName(source) {
                throw OptionError("create \(source): \"\(source)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
            }
            if parts.count == 3 {
                for o in parts[2].split(separator: ",") where !validModes.contains(String(o)) {
                    throw OptionError("invalid mode: \(parts[2])")
                }
                return .bind("\(source):\(dest):\(parts[2])")
            }
            return .bind("\(source):\(dest)")
        default:
            throw bad
        }
    }

    static let validModes: Set<String> = ["ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave",
                                          "private", "rprivate", "consistent", "cached", "delegated"]

    static func validVolumeName(_ s: String) -> Bool {
        guard let f = s.first, f.isASCII, f.isLetter || f.isNumber, s.count >= 2 else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    /// `--mount type=bind,source=/a,target=/b,readonly` (CSV of key[=value]).
    static func mount(_ spec: String, cwd: String) throws(OptionError) -> Target {
        var type = "volume", source = "", target = "", readonly = false
        var tmpfsOptions: [String] = []
        var bindOptions: [String] = []
        for field in spec.split(separator: ",") {
            let kv = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = kv[0].lowercased()
            let value = kv.count == 2 ? String(kv[1]) : nil
            switch key {
            case "type":
                guard let value, ["bind", "volume", "tmpfs"].contains(value) else {
                    throw OptionError("invalid value for 'type': \(value ?? "")")
                }
                type = value
            case "source", "src": source = value ?? ""
            case "target", "destination", "dst": target = value ?? ""
            case "readonly", "ro":
                switch value?.lowercased() {
                case nil, "1", "true": readonly = true
                case "0", "false": readonly = false
                default: throw OptionError("invalid value for \(key): \(value!)")
                }
            case "tmpfs-size":
                guard let value else { throw OptionError("invalid field '\(field)' must be a key=value pair") }
                tmpfsOptions.append("size=\(try ByteSize.parse(value))")
            case "tmpfs-mode":
                guard let value else { throw OptionError("invalid field '\(field)' must be a key=value pair") }
                tmpfsOptions.append("mode=\(value)")
            case "bind-propagation":
                guard let value else { throw OptionError("invalid field '\(field)' must be a key=value pair") }
                bindOptions.append(value)
            case "consistency", "volume-driver", "volume-label", "volume-opt", "volume-nocopy", "bind-recursive":
                if key == "volume-nocopy" { bindOptions.append("nocopy") }
            default:
                throw OptionError("unexpected key '\(key)' in '\(field)'")
            }
        }
        guard !target.isEmpty else { throw OptionError("target is required") }
        guard target.hasPrefix("/") else { throw OptionError("invalid mount config: invalid mount path: '\(target)' mount path must be absolute") }
        switch type {
        case "tmpfs":
            if !source.isEmpty { throw OptionError("invalid mount config for type \"tmpfs\": field Source must not be specified") }
            if readonly { tmpfsOptions.insert("ro", at: 0) }
            return .tmpfs(target, tmpfsOptions.joined(separator: ","))
        case "bind":
            guard !source.isEmpty else { throw OptionError("invalid mount config for type \"bind\": field Source must not be empty") }
            let opts = (readonly ? ["ro"] : []) + bindOptions
            let src = source.hasPrefix("/") ? source : absolute(source, cwd: cwd)
            return .bind(opts.isEmpty ? "\(src):\(target)" : "\(src):\(target):\(opts.joined(separator: ","))")
        default:
            if source.isEmpty { return .anonymous(target) }
            let opts = (readonly ? ["ro"] : []) + bindOptions
            return .bind(opts.isEmpty ? "\(source):\(target)" : "\(source):\(target):\(opts.joined(separator: ","))")
        }
    }

    /// `--tmpfs /run:rw,size=64m` → ("/run", "rw,size=64m").
    static func tmpfs(_ spec: String) throws(OptionError) -> (String, String) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        guard path.hasPrefix("/") else { throw OptionError("invalid mount config: invalid mount path: '\(path)' mount path must be absolute") }
        return (path, parts.count == 2 ? String(parts[1]) : "")
    }

    static func absolute(_ p: String, cwd: String) -> String {
        var parts: [Substring] = cwd.split(separator: "/")
        for c in p.split(separator: "/") {
            if c == "." || c.isEmpty { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }
}
