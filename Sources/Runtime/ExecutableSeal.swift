import CBerth
import Glibc

/// Protection against the CVE-2019-5736 class: a container process that gets
/// hold of /proc/<pid>/exe of the runtime (the init before its execve, or an
/// `exec` joining the container) must not be able to overwrite the runtime
/// binary on the host.
///
/// Before create, run and exec, the runtime re-executes itself through a
/// read-only bind mount of its own binary. /proc/<pid>/exe then names a file
/// on a read-only mount, so opening it for writing fails with EROFS, now and
/// after the runtime has exited. No copy of the binary is made (crun and older
/// runc copy it into a sealed memfd), so nothing is charged to anyone's memory.
///
/// The bind mount is a detached one (open_tree(OPEN_TREE_CLONE), made
/// read-only with mount_setattr, exec'd by fd): it belongs to no mount
/// namespace. The runtime used to make it in a private mount namespace, but
/// unshare(CLONE_NEWNS) copies every mount of the host and leaving the copy
/// unmounts them all again: with 400 containers running (two host mounts
/// each) that was 3–5 ms of every create, growing with each container. Kernels
/// before 5.12 (no mount_setattr) still get the private namespace. Where the
/// caller may make neither (rootless), the runtime runs as it is.
public enum ExecutableSeal {
    static let marker = "_BERTH_RUNTIME_SEALED"
    /// The marker's value after a detached seal: there is no caller namespace to return to.
    static let detachedMarker = "detached"

    /// The caller's mount namespace, kept across the re-exec: a container that
    /// shares the caller's mount namespace, and every hook (which runs in the
    /// runtime namespace), must see the caller's, not our private copy.
    nonisolated(unsafe) static var callerMountNamespace: Int32?

    public static func ensure(arguments: [String], log: RuntimeLog) {
        if let value = getenv(marker) {
            if let fd = Int32(String(cString: value)), fd > 2 {
                _ = cb_fcntl_setfd(fd, FD_CLOEXEC)
                callerMountNamespace = fd
            }
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
        var env: [String] = []
        var p = environ
        while let e = p.pointee { env.append(String(cString: e)); p += 1 }
        // The re-executed image needs no crash backtracer; skipping its set-up
        // saves the runtime's start-up a few dozen syscalls.
        if getenv("SWIFT_BACKTRACE") == nil { env.append("SWIFT_BACKTRACE=enable=no") }
        let sealed = cb_seal_detached(exe)
        if sealed >= 0 {
            Exec.execve(exe, arguments, env + [marker + "=" + detachedMarker], fd: sealed)
            log.debug("not sealing the runtime binary with a detached mount: execveat: \(errnoText(errno))")
            close(sealed)
        } else {
            log.debug("not sealing the runtime binary with a detached mount: \(errnoText(errno)); trying a private mount namespace")
        }
        // Above any fd the caller may pass with --preserve-fds or LISTEN_FDS,
        // and inheritable only through our own re-exec.
        let own = cb_open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC, 0)
        let callerNS = own >= 0 ? cb_dupfd_cloexec(own, 64) : -1
        if own >= 0 { close(own) }
        guard callerNS >= 0, cb_unshare(NamespaceKind.mount.cloneFlag) == 0 else {
            if callerNS >= 0 { close(callerNS) }
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
            _ = cb_setns(callerNS, NamespaceKind.mount.cloneFlag)
            close(callerNS)
            return
        }
        _ = cb_fcntl_setfd(callerNS, 0)
        Exec.execve(exe, arguments, env + [marker + "=" + String(callerNS)])
        _ = cb_setns(callerNS, NamespaceKind.mount.cloneFlag)
        close(callerNS)
        log.debug("not sealing the runtime binary: re-exec \(exe): \(errnoText(errno))")
    }

    /// The runtime itself goes back to the caller's mount namespace once its
    /// child (init or exec process) is cloned, so that the private namespace is
    /// torn down now, while the child sets itself up on the other CPU, and not
    /// when the runtime exits: dropping a mount namespace waits for an RCU grace
    /// period (2–15 ms here), which at exit would add to every create, run and
    /// exec. The runtime binary stays protected: /proc/<pid>/exe keeps the
    /// read-only bind mount alive (and read-only) after its namespace is gone,
    /// and the child took its own copy of the namespace. From here on hooks and
    /// the rest of the command run where the caller is, as before. The working
    /// directory is kept (setns resets it to the namespace's root).
    static func leavePrivateNamespace() {
        guard let fd = callerMountNamespace else { return }
        let cwd = cb_open(".", CB_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        if cb_setns(fd, NamespaceKind.mount.cloneFlag) == 0 {
            close(fd)
            callerMountNamespace = nil
        }
        if cwd >= 0 {
            _ = fchdir(cwd)
            close(cwd)
        }
    }

    /// Moves the calling process (a hook, or the init of a container without
    /// its own mount namespace) back into the caller's mount namespace.
    static func enterCallerMountNamespace() throws(RuntimeError) {
        guard let fd = callerMountNamespace else { return }
        try check("join the caller's mount namespace") { cb_setns(fd, NamespaceKind.mount.cloneFlag) }
    }

    /// The container's init drops the fd once it is where it belongs, so that
    /// nothing in the container can reach the caller's mount namespace.
    static func forgetCallerMountNamespace() {
        if let fd = callerMountNamespace { close(fd) }
        callerMountNamespace = nil
    }
}
