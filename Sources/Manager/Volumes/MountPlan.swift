import Glibc
import RPC

/// A container's mount points as Docker resolves them at create (moby's
/// registerMountPoints), without touching anything: `--volumes-from` first,
/// then `-v` binds and volumes, then `--mount` (these two may not share a
/// destination: "Duplicate mount point"), `--tmpfs`, and last every path of
/// Config.Volumes (the image's VOLUMEs and `-v /path`) that nothing else
/// covers becomes an anonymous volume.
struct MountPlan {
    var mounts: [ContainerMount] = []
    /// The volumes the mounts need: created at create when missing.
    var volumes: [BerthAPI.VolumeCreateParams] = []

    static let propagations: Set<String> = ["private", "rprivate", "shared", "rshared", "slave", "rslave"]

    /// `volumesFrom` gives the mounts of the container a `--volumes-from` names.
    static func resolve(config: BerthAPI.ContainerConfig, hostConfig h: BerthAPI.HostConfig,
                        volumesFrom: (String) throws -> [ContainerMount]) throws -> MountPlan {
        var plan = MountPlan()
        var byDestination: [String: ContainerMount] = [:]
        var order: [String] = []
        func put(_ m: ContainerMount) {
            if byDestination[m.destination] == nil { order.append(m.destination) }
            byDestination[m.destination] = m
        }
        for spec in h.volumesFrom ?? [] {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            guard let ref = parts.first, !ref.isEmpty else { throw BerthError(.invalidArgument, "invalid volumes-from: '\(spec)'") }
            var rw: Bool?
            if parts.count == 2 {
                switch parts[1] {
                case "ro": rw = false
                case "rw": rw = true
                default: throw BerthError(.invalidArgument, "invalid mode: \(parts[1])")
                }
            }
            for var m in try volumesFrom(ref) {
                if let rw { m.rw = rw }
                put(m)
            }
        }
        var explicit = Set<String>()
        for bind in h.binds ?? [] {
            let m = try parseBind(bind)
            guard explicit.insert(m.destination).inserted else { throw BerthError(.invalidArgument, "Duplicate mount point: \(m.destination)") }
            put(m)
        }
        for spec in h.mounts ?? [] {
            let (m, create) = try parseMount(spec)
            guard explicit.insert(m.destination).inserted else { throw BerthError(.invalidArgument, "Duplicate mount point: \(m.destination)") }
            put(m)
            if let create { plan.volumes.append(create) }
        }
        for dest in (h.tmpfs ?? [:]).keys.map(clean) {
            if explicit.contains(dest) { throw BerthError(.invalidArgument, "Duplicate mount point: \(dest)") }
            byDestination[dest] = nil
            order.removeAll { $0 == dest }
            explicit.insert(dest)
        }
        for dest in (config.volumes ?? [:]).keys.map(clean).sorted() where byDestination[dest] == nil && !explicit.contains(dest) {
            guard dest != "/" else { throw BerthError(.invalidArgument, "invalid volume specification: '/': invalid mount config: destination can't be '/'") }
            let name = VolumeService.randomName()
            put(ContainerMount(type: .volume, name: name, destination: dest))
            plan.volumes.append(.init(name: name, labels: [VolumeRecord.anonymousLabel: ""]))
        }
        plan.mounts = order.compactMap { byDestination[$0] }
        for m in plan.mounts where m.type == .volume {
            if let name = m.name, !plan.volumes.contains(where: { $0.name == name }) { plan.volumes.append(.init(name: name)) }
        }
        return plan
    }

    /// `-v` as HostConfig.Binds holds it: "SRC:DST[:MODE]"; SRC absolute: a bind, else a volume's name.
    static func parseBind(_ spec: String) throws -> ContainerMount {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, parts[1].hasPrefix("/") else {
            throw BerthError(.invalidArgument, "invalid volume specification: '\(spec)'")
        }
        let dest = clean(parts[1])
        if dest == "/" { throw BerthError(.invalidArgument, "invalid volume specification: '\(spec)': invalid mount config: destination can't be '/'") }
        let mode = parts.count == 3 ? parts[2] : ""
        var rw = true, propagation = "", noCopy = false
        for o in mode.split(separator: ",").map(String.init) {
            switch o {
            case "ro": rw = false
            case "rw": rw = true
            case "nocopy": noCopy = true
            case "z", "Z", "consistent", "cached", "delegated": break
            case _ where propagations.contains(o): propagation = o
            default: throw BerthError(.invalidArgument, "invalid mode: \(mode)")
            }
        }
        let source = parts[0]
        if source.hasPrefix("/") {
            return ContainerMount(type: .bind, source: clean(source), destination: dest, rw: rw, mode: mode,
                                  propagation: propagation.isEmpty ? "rprivate" : propagation, createSource: true)
        }
        try VolumeService.validateName(source)
        if !propagation.isEmpty { throw BerthError(.invalidArgument, "invalid mode: \(mode)") }
        return ContainerMount(type: .volume, name: source, destination: dest, rw: rw, mode: mode.isEmpty ? "z" : mode,
                              noCopy: noCopy ? true : nil)
    }

    /// `--mount` as HostConfig.Mounts holds it (Docker's checks and messages).
    static func parseMount(_ m: BerthAPI.Mount) throws -> (ContainerMount, BerthAPI.VolumeCreateParams?) {
        func bad(_ what: String) -> BerthError { BerthError(.invalidArgument, "invalid mount config for type \"\(m.type)\": \(what)") }
        guard ["bind", "volume", "tmpfs"].contains(m.type) else { throw bad("mount type unknown") }
        guard !m.target.isEmpty else { throw bad("field Target must not be empty") }
        guard m.target.hasPrefix("/") else { throw bad("invalid mount path: '\(m.target)' mount path must be absolute") }
        let dest = clean(m.target)
        if dest == "/" { throw bad("invalid specification: destination can't be '/'") }
        let rw = !(m.readOnly ?? false)
        let source = m.source ?? ""
        switch m.type {
        case "bind":
            if m.volumeOptions != nil { throw bad("field VolumeOptions must not be specified") }
            if m.tmpfsOptions != nil { throw bad("field TmpfsOptions must not be specified") }
            guard !source.isEmpty else { throw bad("field Source must not be empty") }
            guard source.hasPrefix("/") else { throw bad("invalid mount path: '\(source)' mount path must be absolute") }
            var st = stat()
            guard stat(source, &st) == 0 else { throw bad("bind source path does not exist: \(source)") }
            let propagation = m.bindOptions?.propagation ?? ""
            if !propagation.isEmpty && !propagations.contains(propagation) { throw bad("invalid propagation mode: \(propagation)") }
            return (ContainerMount(type: .bind, source: clean(source), destination: dest, rw: rw,
                                   propagation: propagation.isEmpty ? "rprivate" : propagation, createSource: false), nil)
        case "volume":
            if m.bindOptions != nil { throw bad("field BindOptions must not be specified") }
            if m.tmpfsOptions != nil { throw bad("field TmpfsOptions must not be specified") }
            let anonymous = source.isEmpty
            let name = anonymous ? VolumeService.randomName() : source
            try VolumeService.validateName(name)
            let vo = m.volumeOptions
            var labels = vo?.labels ?? [:]
            if anonymous { labels[VolumeRecord.anonymousLabel] = "" }
            let create = BerthAPI.VolumeCreateParams(name: name, driver: vo?.driverConfig?.name, driverOpts: vo?.driverConfig?.options,
                                                     labels: labels.isEmpty ? nil : labels)
            return (ContainerMount(type: .volume, name: name, destination: dest, rw: rw, noCopy: vo?.noCopy == true ? true : nil), create)
        default:
            if !source.isEmpty { throw bad("field Source must not be specified") }
            if m.bindOptions != nil { throw bad("field BindOptions must not be specified") }
            if m.volumeOptions != nil { throw bad("field VolumeOptions must not be specified") }
            var opts: [String] = []
            if !rw { opts.append("ro") }
            if let size = m.tmpfsOptions?.sizeBytes, size > 0 { opts.append("size=\(size)") }
            if let mode = m.tmpfsOptions?.mode { opts.append("mode=" + String(mode, radix: 8)) }
            return (ContainerMount(type: .tmpfs, destination: dest, rw: rw, tmpfsOptions: opts.joined(separator: ",")), nil)
        }
    }

    /// "/a//b/" → "/a/b".
    static func clean(_ path: String) -> String { "/" + path.split(separator: "/").joined(separator: "/") }
}
