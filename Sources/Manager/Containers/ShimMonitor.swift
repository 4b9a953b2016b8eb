import CBerth
import Glibc
import OCI
import RPC
import Synchronization

/// What berthd learns from its shims without asking: the events they send to
/// berthd's events socket (docs/shim-protocol.md, Events), and the death of a
/// shim process (its pidfd becomes readable).
///
/// One thread polls everything: the listening socket, every shim's events
/// connection and every watched shim's pidfd, so thousands of containers cost
/// file descriptors, not threads. Handlers run on that thread and must hand
/// slow work elsewhere.
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
        /// containerID → (shim pid, its pidfd)
        var watched: [String: (pid: Int32, fd: Int32)] = [:]
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
        state.withLock { $0.listenFD = fd; $0.wakeFD = wake }
        Thread.detach { [self] in loop() }
    }

    /// Watches a shim: `onShimExit` runs once when it dies, unless `unwatch` came first.
    func watch(containerID: String, shimPid: Int32) {
        let fd = cb_pidfd_open(shimPid)
        guard fd >= 0 else {
            // Already gone (ESRCH): report it as a death now.
            Thread.detach { [self] in onShimExit(containerID, shimPid) }
            return
        }
        let old = state.withLock { s -> Int32? in
            let old = s.watched[containerID]?.fd
            s.watched[containerID] = (shimPid, fd)
            return old
        }
        if let old { close(old) }
        wake()
    }

    func unwatch(containerID: String) {
        if let fd = state.withLock({ $0.watched.removeValue(forKey: containerID)?.fd }) { close(fd) }
        wake()
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
        let (listenFD, wakeFD) = state.withLock { ($0.listenFD, $0.wakeFD) }
        var connections: [Int32: Connection] = [:]
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let (stopping, watched) = state.withLock { ($0.stopping, $0.watched) }
            if stopping { break }
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let connFDs = Array(connections.keys)
            fds += connFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let pidEntries = Array(watched)
            fds += pidEntries.map { pollfd(fd: $0.value.fd, events: Int16(POLLIN), revents: 0) }
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { if errno == EINTR { continue }; break }
            if fds[1].revents != 0 {
                var v: UInt64 = 0
                _ = read(wakeFD, &v, 8)
            }
            if fds[0].revents != 0 {
                while true {
                    let c = accept(listenFD, nil, nil)
                    if c < 0 { break }
                    _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                    connections[c] = Connection(fd: c)
                }
            }
            for (i, fd) in connFDs.enumerated() where fds[2 + i].revents != 0 {
                guard let conn = connections[fd] else { continue }
                let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if r <= 0 {
                    if r < 0 && errno == EINTR { continue }
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
            }
            let base = 2 + connFDs.count
            for (i, entry) in pidEntries.enumerated() where fds[base + i].revents != 0 {
                // Only if it is still the same watch (not replaced or removed meanwhile).
                let still = state.withLock { s -> Bool in
                    guard let w = s.watched[entry.key], w.fd == entry.value.fd else { return false }
                    s.watched[entry.key] = nil
                    return true
                }
                if still {
                    close(entry.value.fd)
                    onShimExit(entry.key, entry.value.pid)
                }
            }
        }
        for fd in connections.keys { close(fd) }
        close(listenFD)
        unlink(socketPath)
    }
}
