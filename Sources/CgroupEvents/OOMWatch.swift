import CBerth
import Glibc

/// OOM notifications for `events`, as runc gets them: v1 registers an eventfd
/// on memory.oom_control through cgroup.event_control (the kernel signals it at
/// each OOM, killed or not); v2 watches memory.events with inotify and counts
/// the rise of its oom_kill field. `fd` turns readable when there is news.
final class OOMWatch {
    private enum Kind {
        case eventfd(control: Int32, dir: String)
        case memoryEvents(path: String)
    }

    let fd: Int32
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

    static func v1(memoryDir: String) -> OOMWatch? {
        let efd = cb_eventfd_cloexec()
        guard efd >= 0 else { return nil }
        let control = cb_open(memoryDir + "/memory.oom_control", O_RDONLY | O_CLOEXEC, 0)
        guard control >= 0, (try? FS.writeExisting(memoryDir + "/cgroup.event_control", "\(efd) \(control)")) != nil else {
            close(efd)
            if control >= 0 { close(control) }
            return nil
        }
        return OOMWatch(fd: efd, kind: .eventfd(control: control, dir: memoryDir), lastKills: 0)
    }

    static func v2(dir: String) -> OOMWatch? {
        let path = dir + "/memory.events"
        let ifd = inotify_init1(Int32(IN_CLOEXEC))
        guard ifd >= 0 else { return nil }
        guard inotify_add_watch(ifd, path, UInt32(IN_MODIFY)) >= 0 else { close(ifd); return nil }
        return OOMWatch(fd: ifd, kind: .memoryEvents(path: path), lastKills: CgroupFile.value(path, key: "oom_kill") ?? 0)
    }

    /// Consumes the notification and returns how many OOM events it stands for.
    func drain() -> UInt64 {
        switch kind {
        case .eventfd(_, let dir):
            var count: UInt64 = 0
            let n = read(fd, &count, 8)
            // The kernel also signals the eventfd when the cgroup is removed.
            guard n == 8, FS.exists(dir + "/cgroup.event_control") else { return 0 }
            return count
        case .memoryEvents(let path):
            var buf = [UInt8](repeating: 0, count: 4096)
            _ = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            let kills = CgroupFile.value(path, key: "oom_kill") ?? lastKills
            defer { lastKills = kills }
            return kills > lastKills ? kills - lastKills : 0
        }
    }
}
