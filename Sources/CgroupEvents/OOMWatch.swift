import CBerth
import Glibc

/// OOM notifications for a container's memory cgroup, as runc gets them: v1
/// registers an eventfd on memory.oom_control through cgroup.event_control
/// (the kernel signals it at each OOM, killed or not); v2 watches
/// memory.events with inotify and counts the rise of its oom_kill field.
/// `fd` turns readable when there is news. Used by `berth-runtime events` and
/// by berth-shim (its oom events), so it lives in a module of its own that
/// imports only Glibc and CBerth.
public final class OOMWatch {
    private enum Kind {
        case eventfd(control: Int32, dir: String)
        case memoryEvents(path: String)
    }

    public let fd: Int32
    private let kind: Kind
    private var lastKills: UInt64

    private init(fd: Int32, kind: Kind, lastKills: UInt64) {
        self.fd = fd
        self.kind = kind
        self.lastKills = lastKills
    }

    deinit {
        close(fd)
        if case .eventfd(let control, _) = kind { close(control) }
    }

    public static func v1(memoryDir: String) -> OOMWatch? {
        let efd = cb_eventfd_cloexec()
        guard efd >= 0 else { return nil }
        let control = cb_open(memoryDir + "/memory.oom_control", O_RDONLY | O_CLOEXEC, 0)
        guard control >= 0, writeExisting(memoryDir + "/cgroup.event_control", "\(efd) \(control)") else {
            close(efd)
            if control >= 0 { close(control) }
            return nil
        }
        return OOMWatch(fd: efd, kind: .eventfd(control: control, dir: memoryDir), lastKills: 0)
    }

    public static func v2(dir: String) -> OOMWatch? {
        let path = dir + "/memory.events"
        let ifd = inotify_init1(Int32(IN_CLOEXEC))
        guard ifd >= 0 else { return nil }
        guard inotify_add_watch(ifd, path, UInt32(IN_MODIFY)) >= 0 else { close(ifd); return nil }
        return OOMWatch(fd: ifd, kind: .memoryEvents(path: path), lastKills: oomKills(path) ?? 0)
    }

    /// The watch for the memory cgroup that process `pid` is in, found through
    /// /proc/PID/cgroup and this process's mount table (v1 memory controller
    /// first, else the unified hierarchy when it has memory.events).
    public static func forProcess(_ pid: Int32) -> OOMWatch? {
        guard let dirs = CgroupLocator.memoryDir(of: pid) else { return nil }
        switch dirs {
        case .v1(let dir): return v1(memoryDir: dir)
        case .v2(let dir): return v2(dir: dir)
        }
    }

    /// Consumes the notification and returns how many OOM events it stands for.
    /// Non-blocking: 0 when there is no news (the fd is non-blocking for v1).
    public func drain() -> UInt64 {
        switch kind {
        case .eventfd(_, let dir):
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 0) == 1 else { return 0 }
            var count: UInt64 = 0
            let n = read(fd, &count, 8)
            // The kernel also signals the eventfd when the cgroup is removed.
            guard n == 8, access(dir + "/cgroup.event_control", F_OK) == 0 else { return 0 }
            return count
        case .memoryEvents(let path):
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) == 1 {
                var buf = [UInt8](repeating: 0, count: 4096)
                _ = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            let kills = OOMWatch.oomKills(path) ?? lastKills
            defer { lastKills = kills }
            return kills > lastKills ? kills - lastKills : 0
        }
    }

    static func oomKills(_ path: String) -> UInt64? {
        guard let text = CgroupLocator.read(path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") { return UInt64(line.dropFirst(9)) }
        return nil
    }

    private static func writeExisting(_ path: String, _ text: String) -> Bool {
        let fd = cb_open(path, O_WRONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}
