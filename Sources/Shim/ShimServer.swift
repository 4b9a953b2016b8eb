import CBerth
import CgroupEvents
import Glibc
import OCI
import RPC

public struct ShimConfig: Sendable {
    public var id: String
    public var bundle: String
    public var runtime: String
    public var runtimeRoot: String?
    public var socketPath: String
    /// The manager's events address (`--events`), if any.
    public var eventsAddress: String?
    /// How many undelivered events are kept (BERTH_SHIM_EVENT_QUEUE, default 1024).
    public var eventQueueCapacity: Int
    /// How long a shim with no container and no client waits before it leaves
    /// (BERTH_SHIM_UNCLAIMED_SECONDS, default 30): its manager died between
    /// `start` and `create`, and nobody will ever claim it.
    public var unclaimedSeconds: Int

    public init(id: String, bundle: String, runtime: String, runtimeRoot: String?, socketPath: String,
                eventsAddress: String? = nil, eventQueueCapacity: Int = 1024, unclaimedSeconds: Int = 30) {
        self.id = id; self.bundle = bundle; self.runtime = runtime; self.runtimeRoot = runtimeRoot; self.socketPath = socketPath
        self.eventsAddress = eventsAddress; self.eventQueueCapacity = eventQueueCapacity; self.unclaimedSeconds = unclaimedSeconds
    }
}

/// The shim's single-threaded service: one poll loop over the listening
/// socket, the clients, the SIGCHLD signalfd and the container's output pipes.
public final class ShimServer {
    enum Status: String { case none, created, running, paused, stopped, deleted }

    final class Stream {
        var fd: Int32
        let name: String
        let log: LogWriter
        let owner: String?
        init(fd: Int32, name: String, log: LogWriter, owner: String?) { self.fd = fd; self.name = name; self.log = log; self.owner = owner }
    }

    /// A process started by exec: reparented to the shim, reaped like the init.
    final class ExecProcess {
        let id: String
        let pid: Int32
        var exit: ExitInfo?
        var logPath: String?
        var waiters: [(fd: Int32, id: RPCID)] = []
        var ptyMaster: Int32 = -1
        var stdinFD: Int32 = -1
        init(id: String, pid: Int32, logPath: String?) { self.id = id; self.pid = pid; self.logPath = logPath }
        func closeFDs() {
            if ptyMaster >= 0 { close(ptyMaster); ptyMaster = -1 }
            if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        }
    }

    final class Client {
        let fd: Int32
        var framer = LineFramer()
        var out: [UInt8] = []
        var closed = false
        init(fd: Int32) { self.fd = fd }
    }

    let config: ShimConfig
    let runner: RuntimeRunner
    let listenFD: Int32
    let signalFD: Int32
    var clients: [Int32: Client] = [:]
    var status = Status.none
    var initPid: Int32 = 0
    var exit: ExitInfo?
    var waiters: [(fd: Int32, id: RPCID)] = []
    /// The output pipes being read: the container's (owner nil) and execs'.
    var streams: [Stream] = []
    var execs: [String: ExecProcess] = [:]
    var logPath: String?
    var quit = false
    var busy = true
    /// Since when the shim has had neither a container nor a client (monotonic ms).
    var unclaimedSince: Int64?
    /// The write end of the container's stdin pipe (create with stdin: true).
    var stdinFD: Int32 = -1
    /// Connections that attached to the output.
    var attached: Set<Int32> = []
    /// The container's terminal (a dup of the master the runtime sent), for resizePty.
    var ptyMaster: Int32 = -1
    /// Events to the manager (exit, oom, execStarted, execExited).
    let events: EventSink
    /// The container's memory cgroup, watched for OOM kills from create until the init exits.
    var oomWatch: OOMWatch?
    var oomKilled = false
    var readBuf = [UInt8](repeating: 0, count: 32768)

    var address: String { "unix://" + config.socketPath }

    /// Binds the socket and sets up the SIGCHLD signalfd; does not write shim.json yet.
    public init(config: ShimConfig) throws(RPCError) {
        self.config = config
        runner = RuntimeRunner(path: config.runtime, root: config.runtimeRoot, logPath: config.bundle + "/shim-runtime.log")
        events = EventSink(address: config.eventsAddress, capacity: config.eventQueueCapacity)
        signal(SIGPIPE, SIG_IGN)
        let sfd = cb_signalfd_chld()
        if sfd < 0 { throw Sys.fail("signalfd") }
        signalFD = sfd
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if s < 0 { throw Sys.fail("socket") }
        guard case (var addr, let len)? = Sys.unixAddress(config.socketPath) else {
            close(s); throw RPCError(RPCError.shimFailed, "socket path too long: \(config.socketPath)")
        }
        unlink(config.socketPath)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        if rc != 0 { let e = errno; close(s); throw Sys.fail("bind \(config.socketPath)", e) }
        chmod(config.socketPath, 0o600)
        if listen(s, 64) != 0 { let e = errno; close(s); throw Sys.fail("listen", e) }
        listenFD = s
    }

    func persist() {
        let st = ShimState(id: config.id, bundle: config.bundle, pid: Int(getpid()), address: address, runtime: config.runtime,
                           runtimeRoot: config.runtimeRoot, status: status.rawValue,
                           containerPid: initPid > 0 ? Int(initPid) : nil, exitStatus: exit?.exitStatus,
                           exitedAt: exit?.exitedAt, logPath: logPath, eventsAddress: events.address,
                           execs: execs.values.sorted { $0.id < $1.id }.map {
                               ShimState.Exec(execID: $0.id, pid: Int($0.pid), exitStatus: $0.exit?.exitStatus, exitedAt: $0.exit?.exitedAt)
                           })
        try? st.save()
    }

    public func writeState() throws(RPCError) {
        persist()
        if ShimState.load(bundle: config.bundle) == nil {
            throw RPCError(RPCError.shimFailed, "cannot write \(ShimState.path(bundle: config.bundle))")
        }
    }

    // MARK: - The loop

    public func run() {
        while !quit {
            // Fixed slots first: the listener, SIGCHLD, the events connection and
            // the OOM watch (fd -1 when absent: poll skips it), then the output
            // streams, then the clients.
            var fds: [pollfd] = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                                 pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
                                 pollfd(fd: events.fd, events: events.pollEvents, revents: 0),
                                 pollfd(fd: oomWatch?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
            let fixed = fds.count
            for s in streams { fds.append(pollfd(fd: s.fd, events: Int16(POLLIN), revents: 0)) }
            let clientFDs = Array(clients.keys)
            for fd in clientFDs {
                let c = clients[fd]!
                fds.append(pollfd(fd: fd, events: Int16(POLLIN) | (c.out.isEmpty ? 0 : Int16(POLLOUT)), revents: 0))
            }
            // Once idle for a second after some work, the wait drops the pages of
            // berth-shim that work mapped (Sys.pollTrimmed): an idle shim keeps
            // a few of them mapped, not megabytes (see cberth_trim.c for why).
            // Undelivered events shorten the wait to their next reconnect attempt.
            var timeout: Int32 = busy ? 1000 : -1
            let retry = events.timeout()
            if retry >= 0 && (timeout < 0 || retry < timeout) { timeout = retry }
            if let left = unclaimedMillisLeft() {
                if left <= 0 { break }
                if timeout < 0 || left < Int64(timeout) { timeout = Int32(left) }
            }
            let n = busy ? poll(&fds, nfds_t(fds.count), timeout) : Sys.pollTrimmed(&fds, timeout: timeout)
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 {
                events.flush()
                if busy && events.timeout() < 0 { busy = false }
                continue
            }
            busy = true
            if fds[1].revents != 0 { reap() }
            if fds[2].revents != 0 { events.handle(revents: fds[2].revents) }
            if fds[3].revents != 0 { checkOOM() }
            for k in 0..<streams.count where k + fixed < fds.count {
                if fds[k + fixed].revents != 0 { readStream(fds[k + fixed].fd) }
            }
            for p in fds where clients[p.fd] != nil && p.revents != 0 {
                guard let c = clients[p.fd] else { continue }
                if p.revents & Int16(POLLOUT) != 0 { flush(c) }
                if p.revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 { readClient(c) }
            }
            if fds[0].revents != 0 { accept() }
            streams.removeAll { $0.fd < 0 }
            for (fd, c) in clients where c.closed {
                close(fd)
                clients[fd] = nil
                waiters.removeAll { $0.fd == fd }
                for e in execs.values { e.waiters.removeAll { $0.fd == fd } }
                attached.remove(fd)
            }
        }
        // Shutting down: flush what clients are owed (bounded), then leave.
        let deadline = Clock.monotonicMillis() + 1000
        for (_, c) in clients where !c.out.isEmpty {
            _ = cb_fcntl_setfl(c.fd, cb_fcntl_getfl(c.fd) & ~O_NONBLOCK)
            var tv = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if Clock.monotonicMillis() < deadline { _ = Sys.writeAll(c.fd, c.out) }
        }
    }

    /// While nothing claims the shim (no container created, no client connected):
    /// the milliseconds it has left before it leaves; nil once claimed.
    func unclaimedMillisLeft() -> Int64? {
        guard status == .none, clients.isEmpty else { unclaimedSince = nil; return nil }
        let now = Clock.monotonicMillis()
        let since = unclaimedSince ?? now
        unclaimedSince = since
        return since + Int64(config.unclaimedSeconds) * 1000 - now
    }

    func accept() {
        while true {
            let fd = Glibc.accept(listenFD, nil, nil)
            if fd < 0 { return }
            _ = cb_fcntl_setfd(fd, FD_CLOEXEC)
            Sys.setNonblocking(fd)
            clients[fd] = Client(fd: fd)
        }
    }

    func readClient(_ c: Client) {
        while !c.closed {
            let n = readBuf.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN { c.closed = true }
                return
            }
            if n == 0 { c.closed = true; return }
            c.framer.append(readBuf[0..<n])
            do {
                while let line = try c.framer.next() {
                    let msg: RPCMessage
                    do { msg = try RPCMessage.parse(line) } catch { send(c, .error(id: nil, error: error)); continue }
                    if case let .request(id, method, params) = msg { handle(c, id, method, params) }
                    if quit { return }
                }
            } catch {
                send(c, .error(id: nil, error: error))
                c.closed = true
                flush(c)
            }
        }
    }

    func send(_ c: Client, _ m: RPCMessage) {
        guard !c.closed else { return }
        c.out.append(contentsOf: m.frame)
        flush(c)
        if c.out.count > 16 << 20 { c.closed = true }
    }

    func flush(_ c: Client) {
        while !c.out.isEmpty {
            let n = c.out.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN { c.closed = true; c.out = [] }
                return
            }
            c.out.removeFirst(n)
        }
    }

    func broadcast(_ m: RPCMessage) { for (_, c) in clients { send(c, m) } }

    // MARK: - Children and output

    func reap() {
        while cb_signalfd_read(signalFD) > 0 {}
        while true {
            var st: Int32 = 0
            let pid = cb_wait_status(-1, 1, &st)
            if pid <= 0 { return }
            if pid == initPid && exit == nil { recordExit(status: Int(st)) }
            else if let e = execs.values.first(where: { $0.pid == pid && $0.exit == nil }) { recordExecExit(e, status: Int(st)) }
        }
    }

    func recordExecExit(_ e: ExecProcess, status st: Int) {
        drainStreams(owner: e.id)
        let info = ExitInfo(id: config.id, pid: Int(e.pid), exitStatus: st, exitedAt: Clock.rfc3339(), execID: e.id)
        e.exit = info
        e.closeFDs()
        persist()
        events.emit(.execExited, id: config.id, fields: [("execID", .string(e.id)), ("pid", .int(e.pid)),
                                                          ("exitStatus", .int(st)), ("exitedAt", .string(info.exitedAt))])
        broadcast(.notification(method: ShimNotification.exit.rawValue, params: info.json))
        for w in e.waiters { if let c = clients[w.fd] { send(c, .result(id: w.id, result: info.json)) } }
        e.waiters = []
    }

    func recordExit(status st: Int, reason: String? = nil) {
        drainStreams(owner: nil)
        // An OOM kill that ended the init is reported (and marked) before its exit.
        checkOOM()
        oomWatch = nil
        let info = ExitInfo(id: config.id, pid: Int(initPid), exitStatus: st, exitedAt: Clock.rfc3339(), reason: reason,
                            oomKilled: oomKilled ? true : nil)
        exit = info
        if status != .deleted { status = .stopped }
        persist()
        var fields: [(String, JSONValue)] = [("pid", .int(initPid)), ("exitStatus", .int(st)), ("exitedAt", .string(info.exitedAt))]
        if oomKilled { fields.append(("oomKilled", true)) }
        if let reason { fields.append(("reason", .string(reason))) }
        events.emit(.exit, id: config.id, fields: fields)
        broadcast(.notification(method: ShimNotification.exit.rawValue, params: info.json))
        for w in waiters { if let c = clients[w.fd] { send(c, .result(id: w.id, result: info.json)) } }
        waiters = []
    }

    /// Reads the OOM watch (when it has news) and reports the kills as one oom event.
    func checkOOM() {
        guard let w = oomWatch else { return }
        let kills = w.drain()
        guard kills > 0 else { return }
        oomKilled = true
        events.emit(.oom, id: config.id, fields: [("count", .int(kills))])
    }

    func readStream(_ fd: Int32) {
        guard let s = streams.first(where: { $0.fd == fd }) else { return }
        while true {
            let n = readBuf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
            }
            if n <= 0 {
                s.log.flush(s.name)
                close(fd)
                s.fd = -1
                return
            }
            s.log.append(s.name, readBuf[0..<n])
            if !attached.isEmpty {
                var params: [(String, JSONValue)] = [("stream", .string(s.name)), ("data", .string(String(decoding: readBuf[0..<n], as: UTF8.self)))]
                if let owner = s.owner { params.insert(("execID", .string(owner)), at: 0) }
                let m = RPCMessage.notification(method: ShimNotification.output.rawValue, params: .object(params))
                for fd in attached { if let c = clients[fd] { send(c, m) } }
            }
        }
    }

    /// Reads what `owner`'s pipes hold now (its process is gone; its output
    /// should be logged before its exit is reported).
    func drainStreams(owner: String?) {
        for s in streams where s.fd >= 0 && s.owner == owner {
            readStream(s.fd)
            s.log.flush(s.name)
        }
    }

    func closeStreams(owner: String?) {
        for s in streams where s.owner == owner {
            if s.fd >= 0 { close(s.fd); s.fd = -1 }
            s.log.flush(s.name)
        }
        streams.removeAll { $0.fd < 0 }
    }
}
