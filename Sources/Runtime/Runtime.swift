import CBerth
import Glibc
import OCI

/// The runtime engine behind the runc command line. One value per invocation;
/// every method runs to completion on the calling (only) thread.
public struct Runtime {
    public let options: RuntimeOptions
    let store: StateStore
    var log: RuntimeLog { options.log }

    /// The default --root: runc's layout, per user for a non-root caller.
    public static var defaultRoot: String {
        if geteuid() == 0 { return "/run/berth-runtime" }
        if let xdg = getenv("XDG_RUNTIME_DIR") { return String(cString: xdg) + "/berth-runtime" }
        return "/tmp/berth-runtime-\(geteuid())"
    }

    public init(options: RuntimeOptions) {
        self.options = options
        self.store = StateStore(root: options.root)
    }

    func cgroup(of s: ContainerState) -> (any Cgroup)? {
        s.cgroupPath.isEmpty ? nil : Cgroups.open(path: s.cgroupPath)
    }

    /// The cgroup is looked at only for a live init without its fifo (paused or
    /// running): `start` and `state` of a created container need no cgroup
    /// layout at all.
    func status(_ s: ContainerState) -> ContainerState.Status { store.status(of: s) { cgroup(of: s) } }

    /// Loads a container's state, with runc's wording when it is not there.
    func load(_ id: String) throws(RuntimeError) -> ContainerState {
        try StateStore.validate(id: id)
        guard store.exists(id) else { throw RuntimeError("container \(id) does not exist") }
        return try store.load(id)
    }

    /// Moves an fd above the range the container inherits (stdio plus the
    /// preserved fds), so that our own descriptors never shadow a preserved one.
    func lift(_ fd: Int32, above preserve: Int32) -> Int32 {
        let floor = 3 + preserve
        guard fd >= 0, fd < floor + 1 else { return fd }
        let moved = fcntl_dupfd_cloexec(fd, floor + 1)
        if moved >= 0 { close(fd); return moved }
        return fd
    }

    /// Waits for a process that is not our child to go away (pidfd when possible).
    func waitGone(_ pid: pid_t, startTime: UInt64, timeoutMillis: Int64 = 10_000) -> Bool {
        let pidfd = cb_pidfd_open(pid)
        let deadline = Clock.monotonicMillis() + timeoutMillis
        defer { if pidfd >= 0 { close(pidfd) } }
        while ProcInfo.isAlive(pid, startTime: startTime) {
            let left = deadline - Clock.monotonicMillis()
            if left <= 0 { return false }
            if pidfd >= 0 { _ = cb_poll2(pidfd, -1, Int32(min(left, 100))) } else { usleep(5000) }
            // Reap it if it happens to be our child (run/create in one process).
            var st: Int32 = 0
            _ = waitpid(pid, &st, WNOHANG)
        }
        return true
    }

    /// Sends a signal to the init, checking it is still the same process.
    func signalInit(_ s: ContainerState, _ sig: Int32) throws(RuntimeError) {
        let pidfd = cb_pidfd_open(s.pid)
        guard ProcInfo.isAlive(s.pid, startTime: s.pidStartTime) else {
            if pidfd >= 0 { close(pidfd) }
            throw RuntimeError("container not running")
        }
        if pidfd >= 0 {
            defer { close(pidfd) }
            if cb_pidfd_send_signal(pidfd, sig) == 0 { return }
            if errno == ESRCH { throw RuntimeError("container not running") }
            if errno != ENOSYS { throw RuntimeError.sys("send signal \(sig) to the container") }
        }
        if Glibc.kill(s.pid, sig) != 0 {
            if errno == ESRCH { throw RuntimeError("container not running") }
            throw RuntimeError.sys("send signal \(sig) to the container")
        }
    }
}

func fcntl_dupfd_cloexec(_ fd: Int32, _ min: Int32) -> Int32 { cb_dupfd_cloexec(fd, min) }
