import CBerth
import Glibc
import OCI
import RPC
import Synchronization

/// What berthd learns from its shims without asking: the events they send to
/// berthd's events socket (docs/shim-protocol.md, Events), and the death of a
/// shim process (its pidfd becomes readable).
///
/// One thread waits on everything, through one epoll set: the listening
/// socket, every shim's events connection and every watched shim's pidfd, so
/// thousands of containers cost file descriptors, not threads, and an event
/// costs the same with 10 shims as with 2000 (poll(2) walked every descriptor
/// at each wake-up: 2.6% of the machine's CPU during starts at 1500 running).
/// Handlers run on that thread and must hand slow work elsewhere.
final class ShimMonitor: Sendable {
    struct Event: Sendable {
        var topic: String
        var containerID: String
        var seq: Int64
        var params: JSONValue
    }

    typealias EventHandler = @Sendable (Event) -> Void
    typealias ExitHandler = @Sendable (_ containerID: String, _ shimPid: Int32) -> Void

    let socketPath: String
    private let state = Mutex(State())

    private struct State {
        var listenFD: Int32 = -1
        var wakeFD: Int32 = -1
        var epollFD: Int32 = -1
        /// containerID → (shim pid, its pidfd)
        var watched: [String: (pid: Int32, fd: Int32)] = [:]
        /// pidfd → containerID
        var byFD: [Int32: String] = [:]
        var stopping = false
        var onEvent: EventHandler = { _ in }
        var onShimExit: ExitHandler = { _, _ in }
    }

    init(socketPath: String) {
        self.socketPath = socketPath
    }

    private var onEvent: EventHandler { state.withLock { $0.onEvent } }
    private var onShimExit: ExitHandler { state.withLock { $0.onShimExit } }

    /// The address shims are given with `--events`.
    var address: String { "unix://" + socketPath }

    /// Listens; the handlers run on the monitor's thread.
    func start(onEvent: @escaping EventHandler, onShimExit: @escaping ExitHandler) throws {
        state.withLock { $0.onEvent = onEvent; $0.onShimExit = onShimExit }
        unlink(socketPath)
        let fd: Int32
        do { fd = try UnixSocketListener.listen(socketPath, mode: 0o600, group: nil) } catch {
            throw BerthError.internal("events socket: \(error.message)")
        }
        // Accepted in a loop until EAGAIN: the poll thread must never block in accept.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let wake = cb_eventfd_cloexec()
        let ep = cb_epoll_create()
        guard ep >= 0 else { throw BerthError.internal("events socket: epoll_create1: \(String(cString: strerror(errno)))") }
        _ = cb_epoll_add(ep, fd, Tag.listener.tag(fd))
        _ = cb_epoll_add(ep, wake, Tag.wake.tag(wake))
        let early = state.withLock { s -> [Int32] in
            s.listenFD = fd; s.wakeFD = wake; s.epollFD = ep
            return s.watched.values.map(\.fd)
        }
        for pidfd in early { _ = cb_epoll_add(ep, pidfd, Tag.shimPid.tag(pidfd)) }
        Thread.detach { [self] in loop() }
    }

    /// What a descriptor in the epoll set is (the high half of its tag; the fd is the low half).
    private enum Tag: UInt64 {
        case listener, wake, connection, shimPid
        func tag(_ fd: Int32) -> UInt64 { rawValue << 32 | UInt64(UInt32(bitPattern: fd)) }
    }

    /// Watches a shim: `onShimExit` runs once when it dies, unless `unwatch` came first.
    func watch(containerID: String, shimPid: Int32) {
        let fd = cb_pidfd_open(shimPid)
        guard fd >= 0 else {
            // Already gone (ESRCH): report it as a death now.
            Thread.detach { [self] in onShimExit(containerID, shimPid) }
            return
        }
        let (old, ep) = state.withLock { s -> (Int32?, Int32) in
            let old = s.watched[containerID]?.fd
            if let old { s.byFD[old] = nil }
            s.watched[containerID] = (shimPid, fd)
            s.byFD[fd] = containerID
            return (old, s.epollFD)
        }
        if let old { close(old) }  // a closed descriptor leaves the epoll set
        if ep >= 0 { _ = cb_epoll_add(ep, fd, Tag.shimPid.tag(fd)) }
    }

    func unwatch(containerID: String) {
        let fd = state.withLock { s -> Int32? in
            guard let fd = s.watched.removeValue(forKey: containerID)?.fd else { return nil }
            s.byFD[fd] = nil
            return fd
        }
        if let fd { close(fd) }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        let fd = state.withLock { $0.wakeFD }
        if fd >= 0 { _ = write(fd, &one, 8) }
    }

    private final class Connection {
        let fd: Int32
        var framer = LineFramer()
        init(fd: Int32) { self.fd = fd }
    }

    private func loop() {
        let (listenFD, wakeFD, ep) = state.withLock { ($0.listenFD, $0.wakeFD, $0.epollFD) }
        var connections: [Int32: Connection] = [:]
        var buf = [UInt8](repeating: 0, count: 65536)
        var tags = [UInt64](repeating: 0, count: 64)
        while !state.withLock({ $0.stopping }) {
            let n = cb_epoll_wait(ep, &tags, Int32(tags.count), -1)
            if n < 0 { if errno == EINTR { continue }; break }
            for t in tags[0..<Int(n)] {
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: t))
                switch Tag(rawValue: t >> 32) {
                case .wake:
                    var v: UInt64 = 0
                    _ = read(wakeFD, &v, 8)
                case .listener:
                    while true {
                        let c = accept(listenFD, nil, nil)
                        if c < 0 { break }
                        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                        connections[c] = Connection(fd: c)
                        _ = cb_epoll_add(ep, c, Tag.connection.tag(c))
                    }
                case .connection:
                    guard let conn = connections[fd] else { continue }
                    let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if r <= 0 {
                        if r < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                        close(fd)
                        connections[fd] = nil
                        continue
                    }
                    conn.framer.append(buf[0..<r])
                    while let line = try? conn.framer.next() {
                        guard case let .notification(method, params)? = try? RPCMessage.parse(line), method == "event", let params,
                              let topic = params["topic"]?.stringValue, let id = params["id"]?.stringValue else { continue }
                        onEvent(Event(topic: topic, containerID: id, seq: params["seq"]?.int64Value ?? 0, params: params))
                    }
                case .shimPid:
                    // The number may have been closed (unwatch) and reused since the
                    // wait returned: the watch must still be this descriptor, and it
                    // must be readable now.
                    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    guard poll(&p, 1, 0) == 1 else { continue }
                    let dead = state.withLock { s -> (id: String, pid: Int32)? in
                        guard let id = s.byFD[fd], let w = s.watched[id], w.fd == fd else { return nil }
                        s.watched[id] = nil
                        s.byFD[fd] = nil
                        return (id, w.pid)
                    }
                    if let dead {
                        close(fd)
                        onShimExit(dead.id, dead.pid)
                    }
                case nil:
                    continue
                }
            }
        }
        for fd in connections.keys { close(fd) }
        close(ep)
        close(listenFD)
        unlink(socketPath)
    }
}
