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

    static func validate(_ spec: Spec) throws(RuntimeError) {
        if let profile = spec.process?.apparmorProfile, !profile.isEmpty, !appArmorEnabled {
            throw RuntimeError("config.json: process.apparmorProfile \(profile.debugDescription) is set, but AppArmor is not enabled on this host")
        }
        let label = spec.process?.selinuxLabel ?? ""
        let mountLabel = spec.linux?.mountLabel ?? ""
        if !(label.isEmpty && mountLabel.isEmpty), !selinuxEnabled {
            throw RuntimeError("config.json: process.selinuxLabel/linux.mountLabel is set, but SELinux is not enabled on this host")
        }
    }

    /// In the container, just before execve: the profile or label takes effect at exec.
    static func applyOnExec(_ p: Process) throws(RuntimeError) {
        if let profile = p.apparmorProfile, !profile.isEmpty {
            // The newer per-LSM path first, then the shared one older kernels have.
            let path = FS.exists("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec"
            try FS.writeExisting(path, "exec " + profile)
        }
        if let label = p.selinuxLabel, !label.isEmpty {
            try FS.writeExisting("/proc/self/attr/exec", label)
            // Keys the process creates carry its label too, as runc sets it.
            try? FS.writeExisting("/proc/self/attr/keycreate", label)
        }
    }

    /// The mount option that labels a filesystem mounted for the container.
    static func mountData(_ data: String, label: String?) -> String {
        guard let label, !label.isEmpty else { return data }
        let ctx = "context=\"\(label)\""
        return data.isEmpty ? ctx : data + "," + ctx
    }
}
