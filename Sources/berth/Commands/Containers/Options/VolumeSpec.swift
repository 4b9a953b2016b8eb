import RPC

/// `-v/--volume`, `--mount` and `--tmpfs`, kept in HostConfig's Docker forms
/// (Binds, Config.Volumes, Mounts, Tmpfs); berthd resolves them (docs/volumes.md).
enum VolumeSpec {
    /// Where one `-v` or `--mount` lands.
    enum Target: Equatable {
        /// "SOURCE:/path[:options]" in HostConfig.Binds.
        case bind(String)
        /// An anonymous volume at this path (Config.Volumes).
        case anonymous(String)
        /// A tmpfs at this path with these options (HostConfig.Tmpfs).
        case tmpfs(String, String)
        /// `--mount` (HostConfig.Mounts).
        case mount(BerthAPI.Mount)
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

    static func validVolumeName(_ s: String) -> Bool { BerthAPI.isValidVolumeName(s) }

    /// `--mount type=bind,source=/a,target=/b,readonly` (CSV of key[=value], Docker's
    /// keys) → HostConfig.Mounts; berthd checks the rest (a missing bind source…).
    static func mount(_ spec: String, cwd: String) throws(OptionError) -> Target {
        var m = BerthAPI.Mount(type: "volume", target: "")
        var source = ""
        var volumeOptions = BerthAPI.Mount.VolumeOptions()
        var labels: [String: String] = [:], driverOptions: [String: String] = [:]
        var tmpfsOptions = BerthAPI.Mount.TmpfsOptions()
        var used: Set<String> = []  // "volume", "bind", "tmpfs": which type's options were given
        func flag(_ key: String, _ value: String?) throws(OptionError) -> Bool {
            switch value?.lowercased() {
            case nil, "1", "true": return true
            case "0", "false": return false
            default: throw OptionError("invalid value for \(key): \(value!)")
            }
        }
        for field in spec.split(separator: ",") {
            let kv = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = kv[0].lowercased()
            let value = kv.count == 2 ? String(kv[1]) : nil
            func required() throws(OptionError) -> String {
                guard let value else { throw OptionError("invalid field '\(field)' must be a key=value pair") }
                return value
            }
            switch key {
            case "type":
                let t = try required().lowercased()
                guard ["bind", "volume", "tmpfs"].contains(t) else { throw OptionError("invalid value for 'type': \(t)") }
                m.type = t
            case "source", "src": source = try required()
            case "target", "destination", "dst": m.target = try required()
            case "readonly", "ro": m.readOnly = try flag(key, value)
            case "consistency": _ = try required()
            case "bind-propagation":
                m.bindOptions = .init(propagation: try required())
                used.insert("bind")
            case "bind-recursive", "bind-nonrecursive":
                used.insert("bind")
            case "volume-nocopy":
                volumeOptions.noCopy = try flag(key, value)
                used.insert("volume")
            case "volume-label":
                let v = try required()
                let p = v.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                labels[String(p[0])] = p.count == 2 ? String(p[1]) : ""
                used.insert("volume")
            case "volume-driver":
                volumeOptions.driverConfig = .init(name: try required(), options: volumeOptions.driverConfig?.options)
                used.insert("volume")
            case "volume-opt":
                let v = try required()
                let p = v.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard p.count == 2 else { throw OptionError("invalid value for volume-opt: \(v)") }
                driverOptions[String(p[0])] = String(p[1])
                used.insert("volume")
            case "tmpfs-size":
                tmpfsOptions.sizeBytes = try ByteSize.parse(try required())
                used.insert("tmpfs")
            case "tmpfs-mode":
                let v = try required()
                guard let mode = UInt32(v, radix: 8) else { throw OptionError("invalid value for \(key): \(v)") }
                tmpfsOptions.mode = mode
                used.insert("tmpfs")
            default:
                throw OptionError("unexpected key '\(key)' in '\(field)'")
            }
        }
        guard !m.target.isEmpty else { throw OptionError("target is required") }
        for other in used.sorted() where other != m.type {
            throw OptionError("cannot mix '\(other)-*' options with mount type '\(m.type)'")
        }
        if !source.isEmpty { m.source = m.type == "bind" && !source.hasPrefix("/") ? absolute(source, cwd: cwd) : source }
        if !labels.isEmpty { volumeOptions.labels = labels }
        if !driverOptions.isEmpty { volumeOptions.driverConfig = .init(name: volumeOptions.driverConfig?.name, options: driverOptions) }
        if volumeOptions != .init() { m.volumeOptions = volumeOptions }
        if tmpfsOptions != .init() { m.tmpfsOptions = tmpfsOptions }
        return .mount(m)
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
