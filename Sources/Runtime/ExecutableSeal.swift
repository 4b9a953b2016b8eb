import CBerth
import Glibc

/// Protection against the CVE-2019-5736 class: a container process that gets
/// hold of /proc/<pid>/exe of the runtime (the init before its execve, or an
/// `exec` joining the container) must not be able to overwrite the runtime
/// binary on the host.
///
/// Before create, run and exec, the runtime moves into a private mount
/// namespace, bind-mounts its own binary read-only onto itself and re-executes
/// through that mount. /proc/<pid>/exe then names a file on a read-only mount,
/// so opening it for writing fails with EROFS, now and after the runtime has
/// exited. No copy of the binary is made (crun and older runc copy it into a
/// sealed memfd), so nothing is charged to anyone's memory. Where the caller
/// may not make mount namespaces (rootless), the runtime runs as it is.
public enum ExecutableSeal {
    static let marker = "_BERTH_RUNTIME_SEALED"

    public static func ensure(arguments: [String], log: RuntimeLog) {
        if getenv(marker) != nil {
            unsetenv(marker)
            return
        }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return }
        let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var st = statvfs()
        // Already on a read-only mount (a read-only /usr, or a bind set up by the host).
        if statvfs(exe, &st) == 0, st.f_flag & UInt(ST_RDONLY) != 0 { return }
        guard cb_unshare(NamespaceKind.mount.cloneFlag) == 0 else {
            log.debug("not sealing the runtime binary: unshare(CLONE_NEWNS): \(errnoText(errno))")
            return
        }
        let slave = MountOptions.MS_SLAVE | MountOptions.MS_REC
        let bind = MountOptions.MS_BIND
        guard mount("", "/", "", slave, nil) == 0,
              mount(exe, exe, "", bind, nil) == 0,
              mount("", exe, "", bind | MountOptions.MS_REMOUNT | MountOptions.MS_RDONLY | MountOptions.lockedFlags(exe), nil) == 0
        else {
            log.debug("not sealing the runtime binary: mount \(exe): \(errnoText(errno))")
            return
        }
        setenv(marker, "1", 1)
        var env: [String] = []
        var p = environ
        while let e = p.pointee { env.append(String(cString: e)); p += 1 }
        Exec.execve(exe, arguments, env)
        unsetenv(marker)
        log.debug("not sealing the runtime binary: re-exec \(exe): \(errnoText(errno))")
    }
}
