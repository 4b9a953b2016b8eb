import CBerth
import Glibc
import OCI

/// v1 devices controller: one rule per write to devices.allow or devices.deny,
/// in DeviceRules' order (deny all, config.json's rules, the default devices,
/// the devices config.json creates).
enum DevicesV1 {
    static func apply(_ configured: [Resources.DeviceRule]?, extra: [Resources.DeviceRule], dir d: String,
                      _ w: KnobWriter) throws(RuntimeError) {
        for rule in [DeviceRules.denyAll] + (configured ?? []) { try write(rule, d, w) }
        for rule in DeviceRules.defaultAllowed {
            // A parent cgroup that does not grant a default device (the runtime
            // running inside another container) refuses the allow with EPERM; the
            // device then stays denied here too, as it is for the parent.
            let text = try DeviceRules.text(rule)
            let fd = cb_open(d + "/devices.allow", O_WRONLY | O_CLOEXEC, 0)
            if fd < 0 { throw RuntimeError.sys("linux.resources.devices: open \(d)/devices.allow") }
            let n = Glibc.write(fd, text, text.utf8.count)
            let e = errno
            close(fd)
            if n < 0 {
                guard e == EPERM else { throw RuntimeError.sys("linux.resources.devices: allow \(text) in \(d)", e) }
                w.log.debug("default device \(text) not granted by the parent cgroup; it stays denied")
            }
        }
        for rule in extra { try write(rule, d, w) }
    }

    private static func write(_ rule: Resources.DeviceRule, _ d: String, _ w: KnobWriter) throws(RuntimeError) {
        // No journal: devices.list cannot be written back, and update leaves devices alone.
        try w.write(d, rule.allow ? "devices.allow" : "devices.deny", try DeviceRules.text(rule),
                    field: "linux.resources.devices", restore: { _ in nil })
    }
}
