import Glibc
import OCI

/// What `update` was asked: a LinuxResources JSON (-r FILE, or "-" for stdin)
/// or runc's single-value flags, kept as typed so that the values are parsed
/// and checked here, in one place, before anything is written.
public struct UpdateOptions: Sendable {
    /// With a resources file the flags are ignored, as runc ignores them.
    public var resourcesFile: String?
    /// Flag name (without dashes) → value.
    public var flags: [String: String] = [:]
    public init() {}

    /// runc's flags; "cpu-shares" is accepted beside runc's "cpu-share".
    public static let flagNames = [
        "memory", "memory-reservation", "memory-swap", "kernel-memory", "kernel-memory-tcp",
        "cpu-share", "cpu-shares", "cpu-quota", "cpu-period", "cpu-rt-period", "cpu-rt-runtime",
        "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight", "l3-cache-schema", "mem-bw-schema",
    ]
}

extension Runtime {
    /// update(8): new limits for the cgroup of a created, running or paused
    /// container. Values are checked before anything is written, and a value
    /// the kernel refuses puts back what was already changed (Cgroup.update),
    /// so an invalid update leaves the container as it was.
    ///
    /// Device rules in the JSON are ignored, as runc ignores them (containerd
    /// sends the whole LinuxResources); a pids limit or a memory/cpu value of 0
    /// means "unchanged" (runc's reading). The new values are not written back
    /// to state.json: nothing later reads the limits from there.
    public func update(id: String, _ opts: UpdateOptions) throws(RuntimeError) {
        let s = try load(id)
        let resources = try Runtime.updateResources(opts, log: log)
        guard status(s) != .stopped else { throw RuntimeError("container not running") }
        guard let cg = cgroup(of: s) else { throw RuntimeError("container \(id) has no cgroup") }
        try cg.update(resources)
    }

    static func updateResources(_ opts: UpdateOptions, log: RuntimeLog) throws(RuntimeError) -> Resources {
        let json: JSONValue
        if let file = opts.resourcesFile {
            let bytes = file == "-" ? try FS.readAll(0, what: "stdin") : try FS.readBytes(file)
            do { json = try JSONParser.parse(bytes) } catch { throw RuntimeError("update: resources \(file): \(error.message)") }
        } else {
            json = try flagsJSON(opts.flags)
        }
        var r: Resources
        do { r = try JSONValueDecoder().decode(Resources.self, from: json) } catch {
            throw RuntimeError("update: resources: \((error as? JSONError)?.message ?? "\(error)")")
        }
        if r.devices != nil {
            log.debug("update: linux.resources.devices ignored; device rules stay as created (as runc)")
            r.devices = nil
        }
        if r.pids?.limit == 0 { r.pids = nil }
        try ResourceConfig.validate(r)
        for h in r.hugepageLimits ?? [] { try Cgroups.validatePageSize(h.pageSize) }
        return r
    }

    /// The flags as the LinuxResources JSON they stand for.
    static func flagsJSON(_ flags: [String: String]) throws(RuntimeError) -> JSONValue {
        if let v = flags["l3-cache-schema"], !v.isEmpty {
            throw RuntimeError("Intel RDT/CAT: l3 cache schema is not enabled (berth-runtime does not support Intel RDT)")
        }
        if let v = flags["mem-bw-schema"], !v.isEmpty {
            throw RuntimeError("Intel RDT/MBA: memory bandwidth schema is not enabled (berth-runtime does not support Intel RDT)")
        }
        func value(_ flag: String, _ parse: (String) -> Int64?) throws(RuntimeError) -> JSONValue? {
            guard let text = flags[flag], !text.isEmpty else { return nil }
            guard let v = parse(text) else { throw RuntimeError("invalid value for \(flag): \(text.debugDescription)") }
            return .int(v)
        }
        let bytes: (String) -> Int64? = { $0 == "-1" ? -1 : ramInBytes($0) }
        let unsigned: (String) -> Int64? = { UInt64($0).flatMap { Int64(exactly: $0) } }
        let signed: (String) -> Int64? = { Int64($0) }

        var memory: [(String, JSONValue)] = []
        for (flag, key) in [("memory", "limit"), ("memory-reservation", "reservation"), ("memory-swap", "swap"),
                            ("kernel-memory", "kernel"), ("kernel-memory-tcp", "kernelTCP")] {
            if let v = try value(flag, bytes) { memory.append((key, v)) }
        }
        var cpu: [(String, JSONValue)] = []
        for (flag, key, parse) in [("cpu-share", "shares", unsigned), ("cpu-shares", "shares", unsigned),
                                   ("cpu-quota", "quota", signed), ("cpu-period", "period", unsigned),
                                   ("cpu-rt-period", "realtimePeriod", unsigned), ("cpu-rt-runtime", "realtimeRuntime", signed)] {
            if let v = try value(flag, parse) { cpu.append((key, v)) }
        }
        for (flag, key) in [("cpuset-cpus", "cpus"), ("cpuset-mems", "mems")] {
            if let v = flags[flag], !v.isEmpty { cpu.append((key, .string(v))) }
        }
        var out: [(String, JSONValue)] = []
        if !memory.isEmpty { out.append(("memory", .object(memory))) }
        if !cpu.isEmpty { out.append(("cpu", .object(cpu))) }
        if let v = try value("pids-limit", signed) { out.append(("pids", ["limit": v])) }
        if let v = try value("blkio-weight", { Int64($0).flatMap { $0 >= 0 && $0 <= Int64(UInt16.max) ? $0 : nil } }) {
            out.append(("blockIO", ["weight": v]))
        }
        return .object(out)
    }

    /// A size as docker's units.RAMInBytes reads it (what runc's update uses):
    /// a decimal number, an optional space, then k, m, g, t or p (any case,
    /// powers of 1024), an optional "i" and an optional "b": "100M", "1.5g", "512KiB".
    static func ramInBytes(_ text: String) -> Int64? {
        var chars = Substring(text)
        var number = ""
        while let c = chars.first, c.isASCII, c.isNumber || c == "." {
            number.append(c)
            chars = chars.dropFirst()
        }
        // Digits, then groups of "." and digits.
        guard let first = number.first, first.isNumber, number.last?.isNumber == true,
              !number.includes(".."), let value = Double(number) else { return nil }
        if chars.first == " " { chars = chars.dropFirst() }
        var multiplier: Double = 1
        let units: [Character: Int] = ["k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5]
        if let c = chars.first, let power = units[c] {
            multiplier = Double(UInt64(1) << (10 * power))
            chars = chars.dropFirst()
        }
        if chars.first == "i" || chars.first == "I" { chars = chars.dropFirst() }
        if chars.first == "b" || chars.first == "B" { chars = chars.dropFirst() }
        guard chars.isEmpty else { return nil }
        let bytes = value * multiplier
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}
