import OCI

/// The device allowlist both drivers enforce: deny everything, then config.json's
/// rules, then the devices every container needs, then the devices config.json
/// creates. v1 writes them to devices.allow/deny in that order; v2 compiles them
/// into an eBPF program (V2/DeviceFilterProgram) where, as in v1, a later rule
/// wins. The leading "deny all" is runc's starting point too: a config without
/// linux.resources.devices still gets only the default devices, never the host's.
enum DeviceRules {
    static func rule(_ type: String, _ major: Int64, _ minor: Int64, _ access: String) -> Resources.DeviceRule {
        Resources.DeviceRule(allow: true, type: type, major: major, minor: minor, access: access)
    }

    /// mknod of any device (opening it is still checked), then null, zero, full,
    /// random, urandom, tty, console, ptmx, /dev/pts/*, /dev/net/tun and
    /// /dev/fuse, as in runc's default set (plus console and fuse).
    static let defaultAllowed: [Resources.DeviceRule] = [
        rule("c", -1, -1, "m"), rule("b", -1, -1, "m"),
        rule("c", 1, 3, "rwm"), rule("c", 1, 5, "rwm"), rule("c", 1, 7, "rwm"), rule("c", 1, 8, "rwm"),
        rule("c", 1, 9, "rwm"), rule("c", 5, 0, "rwm"), rule("c", 5, 1, "rwm"), rule("c", 5, 2, "rwm"),
        rule("c", 136, -1, "rwm"), rule("c", 10, 200, "rwm"), rule("c", 10, 229, "rwm"),
    ]

    /// The devices config.json creates are usable in the container, as runc
    /// adds them to the allowlist; fifos need no rule.
    static func configDevices(_ devices: [Device]) -> [Resources.DeviceRule] {
        devices.compactMap { d in
            guard d.type != "p", let major = d.major, let minor = d.minor else { return nil }
            return rule(d.type == "b" ? "b" : "c", major, minor, "rwm")
        }
    }

    static let denyAll = Resources.DeviceRule(allow: false, type: "a", major: nil, minor: nil, access: "rwm")

    /// Every rule in the order it takes effect.
    static func effective(_ configured: [Resources.DeviceRule]?, extra: [Resources.DeviceRule]) -> [Resources.DeviceRule] {
        [denyAll] + (configured ?? []) + defaultAllowed + extra
    }

    /// The v1 devices.allow/deny syntax, "c 1:3 rwm"; also the validation of a rule.
    static func text(_ r: Resources.DeviceRule) throws(RuntimeError) -> String {
        let type = r.type ?? "a"
        guard ["a", "c", "b"].contains(type) else { throw RuntimeError("linux.resources.devices: invalid type \(type.debugDescription)") }
        let access = r.access ?? "rwm"
        guard !access.isEmpty, access.allSatisfy({ "rwm".contains($0) }) else {
            throw RuntimeError("linux.resources.devices: invalid access \(access.debugDescription)")
        }
        let major = (r.major ?? -1) < 0 ? "*" : String(r.major!)
        let minor = (r.minor ?? -1) < 0 ? "*" : String(r.minor!)
        return "\(type) \(major):\(minor) \(access)"
    }
}
