import Glibc
import OCI

/// A bundle directory and its decoded, validated config.json.
struct Bundle {
    let path: String
    let spec: Spec
    let raw: JSONValue
    /// root.path made absolute against the bundle.
    let rootfs: String

    static func load(_ dir: String, requireSupport: Bool = true) throws(RuntimeError) -> Bundle {
        let path = FS.absolute(dir)
        let configPath = path + "/config.json"
        guard FS.exists(configPath) else {
            throw RuntimeError("JSON specification file config.json not found in bundle \(path)")
        }
        let bytes = try FS.readBytes(configPath)
        let (spec, raw) = try decode(bytes)
        try ConfigValidator.validate(spec, requireSupport: requireSupport)
        guard let root = spec.root else { throw RuntimeError("config.json: root is required") }
        if !requireSupport { return Bundle(path: path, spec: spec, raw: raw, rootfs: root.path) }
        let rootfs = root.path.hasPrefix("/") ? FS.cleanAbsolute(root.path) : FS.join(path, root.path)
        guard FS.isDirectory(rootfs) else {
            throw RuntimeError("invalid rootfs: stat \(rootfs): no such file or directory")
        }
        return Bundle(path: path, spec: spec, raw: raw, rootfs: rootfs)
    }

    static func decode(_ bytes: [UInt8]) throws(RuntimeError) -> (Spec, JSONValue) {
        do {
            let raw = try JSONParser.parse(bytes)
            return (try JSONValueDecoder().decode(Spec.self, from: raw), raw)
        } catch let e as JSONError {
            throw RuntimeError("config.json: \(e.message)")
        } catch {
            throw RuntimeError("config.json: \(error)")
        }
    }
}

/// Checks config.json beyond its JSON types: the schema's patterns and enums, the
/// cross-field rules of config-linux.md, and fields berth-runtime does not
/// implement yet (named, never silently ignored).
enum ConfigValidator {
    static func validate(_ s: Spec, requireSupport: Bool = true) throws(RuntimeError) {
        guard !s.ociVersion.isEmpty else { throw RuntimeError("config.json: ociVersion must not be empty") }
        if let p = s.process { try validate(p, requireSupport: requireSupport) }
        for m in s.mounts ?? [] {
            _ = try MountOptions(m.options, type: m.type)
            guard m.destination.hasPrefix("/") else {
                throw RuntimeError("config.json: mounts: destination \(m.destination.debugDescription) must be an absolute path")
            }
        }
        for (n, h) in hookList(s.hooks) {
            guard h.path.hasPrefix("/") else { throw RuntimeError("config.json: hooks.\(n): path \(h.path.debugDescription) must be absolute") }
            if let t = h.timeout, t <= 0 { throw RuntimeError("config.json: hooks.\(n): timeout must be positive, got \(t)") }
        }
        if let l = s.linux { try validate(l, spec: s, requireSupport: requireSupport) }
    }

    static func hookList(_ h: OCI.Hooks?) -> [(String, Hook)] {
        guard let h else { return [] }
        let kinds: [(String, [Hook]?)] = [("prestart", h.prestart), ("createRuntime", h.createRuntime),
                                           ("createContainer", h.createContainer), ("startContainer", h.startContainer),
                                           ("poststart", h.poststart), ("poststop", h.poststop)]
        return kinds.flatMap { k, list in (list ?? []).map { (k, $0) } }
    }

    static func validate(_ p: Process, requireSupport: Bool) throws(RuntimeError) {
        guard let args = p.args, !args.isEmpty else {
            throw RuntimeError(p.commandLine != nil ? "config.json: process.commandLine is Windows-only; use process.args"
                                                    : "config.json: process.args must not be empty")
        }
        guard p.cwd.hasPrefix("/") else { throw RuntimeError("config.json: process.cwd \(p.cwd.debugDescription): Cwd must be an absolute path") }
        if let r = p.rlimits { try Rlimits.validate(r) }
        for e in p.env ?? [] where !e.includes("=") {
            throw RuntimeError("config.json: process.env: \(e.debugDescription) is not NAME=value")
        }
        if let o = p.oomScoreAdj, o < -1000 || o > 1000 {
            throw RuntimeError("config.json: process.oomScoreAdj \(o) is outside -1000..1000")
        }
        for (field, list) in [("bounding", p.capabilities?.bounding), ("effective", p.capabilities?.effective),
                              ("inheritable", p.capabilities?.inheritable), ("permitted", p.capabilities?.permitted),
                              ("ambient", p.capabilities?.ambient)] {
            for c in list ?? [] where Capability.number(c) == nil {
                throw RuntimeError("config.json: process.capabilities.\(field): unknown capability \(c.debugDescription)")
            }
        }
        try Scheduling.validate(p)
    }

    static func unsupported(_ field: String) -> RuntimeError {
        RuntimeError("config.json: \(field) is not supported by berth-runtime yet")
    }

    static func validate(_ l: Linux, spec: Spec, requireSupport: Bool) throws(RuntimeError) {
        var kinds: [NamespaceKind: String?] = [:]
        for ns in l.namespaces ?? [] {
            guard let k = NamespaceKind(rawValue: ns.type) else {
                throw RuntimeError("config.json: linux.namespaces: unknown namespace type \(ns.type.debugDescription)")
            }
            guard kinds[k] == nil else { throw RuntimeError("config.json: linux.namespaces: duplicated ns \(ns.type.debugDescription)") }
            if let p = ns.path, !p.hasPrefix("/") {
                throw RuntimeError("config.json: linux.namespaces: \(ns.type) path \(p.debugDescription) must be absolute")
            }
            kinds[k] = .some(ns.path)
        }
        let hasUserNS = kinds[.user] != nil
        if (l.uidMappings?.isEmpty == false || l.gidMappings?.isEmpty == false), !hasUserNS {
            throw RuntimeError("config.json: linux.uidMappings/gidMappings need a user namespace in linux.namespaces")
        }
        if hasUserNS, kinds[.user]! == nil, l.uidMappings?.isEmpty != false || l.gidMappings?.isEmpty != false {
            throw RuntimeError("config.json: a new user namespace needs linux.uidMappings and linux.gidMappings")
        }
        if spec.hostname.map({ !$0.isEmpty }) == true || spec.domainname.map({ !$0.isEmpty }) == true, kinds[.uts] == nil {
            throw RuntimeError("config.json: unable to set hostname without a private UTS namespace")
        }
        if l.timeOffsets?.isEmpty == false {
            guard let t = kinds[.time], t == nil else {
                throw RuntimeError("config.json: linux.timeOffsets need a new time namespace in linux.namespaces")
            }
            for key in l.timeOffsets!.keys where key != "monotonic" && key != "boottime" {
                throw RuntimeError("config.json: linux.timeOffsets: unknown clock \(key.debugDescription)")
            }
        }
        if kinds[.mount] == nil {
            // Without a mount namespace the mounts land in the caller's namespace
            // (the spec allows it, runc does it); what would change the host's own
            // mounts is refused.
            if spec.root?.readonly == true || l.maskedPaths?.isEmpty == false || l.readonlyPaths?.isEmpty == false
                || l.rootfsPropagation != nil {
                throw RuntimeError("config.json: root.readonly, maskedPaths, readonlyPaths and rootfsPropagation need a mount namespace in linux.namespaces")
            }
        }
        for (key, _) in l.sysctl ?? [:] {
            if key.hasPrefix("net."), kinds[.network] == nil {
                throw RuntimeError("config.json: linux.sysctl \(key) needs a network namespace")
            }
            if key.hasPrefix("kernel.") && ["kernel.hostname", "kernel.domainname"].contains(key), kinds[.uts] == nil {
                throw RuntimeError("config.json: linux.sysctl \(key) needs a uts namespace")
            }
            if key.includes("/") || key.includes("..") { throw RuntimeError("config.json: linux.sysctl: invalid key \(key.debugDescription)") }
        }
        if let p = l.personality, p.domain != "LINUX" && p.domain != "LINUX32" {
            throw RuntimeError("config.json: linux.personality.domain: unknown domain \(p.domain.debugDescription)")
        }
        if let prop = l.rootfsPropagation, MountOptions.propagations[prop] == nil {
            throw RuntimeError("config.json: linux.rootfsPropagation: unknown value \(prop.debugDescription)")
        }
        for d in l.devices ?? [] {
            guard ["c", "b", "u", "p"].contains(d.type) else {
                throw RuntimeError("config.json: linux.devices: \(d.path): invalid type \(d.type.debugDescription)")
            }
            guard d.path.hasPrefix("/") else { throw RuntimeError("config.json: linux.devices: \(d.path.debugDescription) must be absolute") }
        }
        if let r = l.resources {
            for h in r.hugepageLimits ?? [] {
                do { try Cgroups.validatePageSize(h.pageSize) } catch { throw RuntimeError("config.json: \(error.message)") }
            }
            for rule in r.devices ?? [] { do { _ = try DeviceRules.text(rule) } catch { throw RuntimeError("config.json: \(error.message)") } }
            do { try ResourceConfig.validate(r) } catch { throw RuntimeError("config.json: \(error.message)") }
        }
        if let sc = l.seccomp {
            do { try SeccompFilter.validate(sc) } catch {
                if requireSupport || !error.message.hasSuffix("yet") { throw RuntimeError("config.json: \(error.message)") }
            }
        }
        if requireSupport, l.intelRdt != nil { throw unsupported("linux.intelRdt") }
        if requireSupport, l.netDevices?.isEmpty == false { throw unsupported("linux.netDevices") }
        if requireSupport, l.memoryPolicy != nil { throw unsupported("linux.memoryPolicy") }
        if requireSupport { try SecurityModules.validate(spec) }
    }
}
