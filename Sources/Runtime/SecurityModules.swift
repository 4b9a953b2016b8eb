import CBerth
import Glibc
import OCI

/// process.apparmorProfile, process.selinuxLabel and linux.mountLabel. Each is
/// applied when the host runs that security module and refused with a clear
/// error when it does not: a profile asked for and silently not applied would
/// leave the container less confined than its author believes.
enum SecurityModules {
    static var appArmorEnabled: Bool {
        FS.readTrimmed("/sys/module/apparmor/parameters/enabled") == "Y"
    }

    static var selinuxEnabled: Bool {
        FS.exists("/sys/fs/selinux/enforce")
    }

    /// At create: config.json's process and linux.mountLabel.
    static func validate(_ spec: Spec) throws(RuntimeError) {
        try validate(profile: spec.process?.apparmorProfile, label: spec.process?.selinuxLabel,
                     mountLabel: spec.linux?.mountLabel, origin: "config.json")
    }

    /// At exec: the process to run (--process file, or the container's process
    /// with --apparmor/--process-label applied).
    static func validate(exec p: Process) throws(RuntimeError) {
        try validate(profile: p.apparmorProfile, label: p.selinuxLabel, mountLabel: nil, origin: "exec")
    }

    private static func validate(profile: String?, label: String?, mountLabel: String?, origin: String) throws(RuntimeError) {
        if let profile, !profile.isEmpty, !appArmorEnabled {
            throw RuntimeError("\(origin): process.apparmorProfile \(profile.debugDescription) is set, but AppArmor is not enabled on this host")
        }
        let fields = [("process.selinuxLabel", label), ("linux.mountLabel", mountLabel)].filter { !($0.1 ?? "").isEmpty }
        if !fields.isEmpty, !selinuxEnabled {
            let set = fields.map { "\($0.0) \($0.1!.debugDescription)" }.joined(separator: " and ")
            throw RuntimeError("\(origin): \(set) \(fields.count == 1 ? "is" : "are") set, but SELinux is not enabled on this host")
        }
    }

    /// In the container, just before execve: the profile or label takes effect at exec.
    static func applyOnExec(_ p: Process) throws(RuntimeError) {
        if let profile = p.apparmorProfile, !profile.isEmpty {
            // The newer per-LSM path first, then the shared one older kernels have.
            let path = FS.exists("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec"
            if let err = write(path, "exec " + profile) {
                // The kernel answers ENOENT for a profile name it does not know.
                throw RuntimeError(err == ENOENT
                    ? "AppArmor profile \(profile.debugDescription) is not loaded (write to \(path): \(errnoText(err)))"
                    : "cannot apply AppArmor profile \(profile.debugDescription): write to \(path): \(errnoText(err))")
            }
        }
        if let label = p.selinuxLabel, !label.isEmpty {
            if let err = write("/proc/self/attr/exec", label) {
                // EINVAL: not a context of the loaded policy.
                throw RuntimeError(err == EINVAL
                    ? "SELinux label \(label.debugDescription) is not valid in the loaded policy (write to /proc/self/attr/exec: \(errnoText(err)))"
                    : "cannot apply SELinux label \(label.debugDescription): write to /proc/self/attr/exec: \(errnoText(err))")
            }
            // Keys the process creates carry its label too, as runc sets it.
            _ = write("/proc/self/attr/keycreate", label)
        }
    }

    /// Writes `text` to an existing proc attribute file; the errno on failure.
    private static func write(_ path: String, _ text: String) -> Int32? {
        let fd = cb_open(path, O_WRONLY | O_CLOEXEC, 0)
        if fd < 0 { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        while true {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, bytes.count) }
            if n >= 0 { return nil }
            if errno != EINTR { return errno }
        }
    }

    /// Whether a mount of `type` gets linux.mountLabel as a context= option. Not
    /// proc and sysfs (the policy labels them), nor mqueue, as in runc: mqueue's
    /// superblock is made with the IPC namespace and sysfs's is the host's
    /// without a network namespace, and SELinux refuses to mount an existing
    /// superblock with other settings (EINVAL).
    static func takesContextOption(_ type: String) -> Bool {
        !["proc", "sysfs", "mqueue"].contains(type)
    }

    /// The mount data that labels a filesystem of `type` mounted for the container.
    static func mountData(_ data: String, type: String, label: String?) -> String {
        guard let label, !label.isEmpty, takesContextOption(type) else { return data }
        let ctx = "context=\"\(label)\""
        return data.isEmpty ? ctx : data + "," + ctx
    }

    /// After the mount: an mqueue mount's root gets the mount label as its
    /// file label instead (as runc sets it).
    static func labelMountRoot(_ path: String, type: String, label: String?, destination: String) throws(RuntimeError) {
        guard let label, !label.isEmpty, type == "mqueue" else { return }
        let value = Array(label.utf8)
        let rc = value.withUnsafeBytes { lsetxattr(path, "security.selinux", $0.baseAddress, value.count, 0) }
        if rc != 0 { throw RuntimeError.sys("label \(destination) with linux.mountLabel \(label.debugDescription)") }
    }
}
