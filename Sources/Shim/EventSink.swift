import CBerth
import Glibc
import OCI
import RPC

/// The shim's events to its manager (`--events ADDRESS`, or the `events`
/// param of `connect`): each is one `event` notification written to a unix
/// socket the manager listens on. While that socket cannot be reached (the
/// manager is down or restarting) events wait in a bounded queue; when it is
/// full the oldest are dropped and the next event delivered says how many
/// (`dropped`). Every event has a sequence number, so a manager notices gaps,
/// and nothing is lost for good: exits are also kept for `wait` and `state`.
///
/// Delivery never blocks the loop: the socket is non-blocking, a frame only
/// half written is finished when the socket drains (POLLOUT), and a frame cut
/// by a lost connection is sent again whole on the next one (the manager
/// ignores a sequence number it has seen). Reconnecting is retried with a
/// backoff from 100 ms to 5 s while events are waiting, and at once when a
/// manager calls `connect`.
final class EventSink {
    /// "unix:///path" or "/path"; nil when no manager asked for events.
    private(set) var address: String?
    private(set) var fd: Int32 = -1
    /// An event not yet delivered: its fields, how many events were dropped
    /// just before it, and its frame once encoding started (it is sent whole).
    private struct Entry {
        var pairs: [(String, JSONValue)]
        var droppedBefore = 0
        var frame: [UInt8]?
    }
    private var queue: [Entry] = []
    /// How much of queue[0] is already written on the current connection.
    private var written = 0
    private let capacity: Int
    private var seq: Int64 = 0
    private var backoff: Int64 = 100
    private var retryAt: Int64 = 0

    init(address: String?, capacity: Int) {
        self.address = address
        self.capacity = max(1, capacity)
    }

    var pending: Int { queue.count }

    func setAddress(_ a: String?) {
        if a != address { disconnect() }
        address = a
        backoff = 100
        retryAt = 0
    }

    /// Queues one event and tries to send what is waiting.
    func emit(_ topic: ShimEventTopic, id: String, fields: [(String, JSONValue)]) {
        seq += 1
        guard address != nil else { return }
        let pairs: [(String, JSONValue)] = [("seq", .int(seq)), ("topic", .string(topic.rawValue)), ("id", .string(id)),
                                            ("time", .string(Clock.rfc3339()))] + fields
        // Full: the oldest event goes (never one half written), and the event
        // after it counts it, so the manager learns the size of the gap.
        let victim = written > 0 ? 1 : 0
        if queue.count >= capacity && queue.count > victim {
            let gone = queue.remove(at: victim)
            if victim < queue.count { queue[victim].droppedBefore += gone.droppedBefore + 1 }
            else { queue.append(Entry(pairs: pairs, droppedBefore: gone.droppedBefore + 1)); flush(); return }
        }
        queue.append(Entry(pairs: pairs))
        flush()
    }

    /// Connects if needed and writes as much as the socket takes now.
    func flush(now: Int64 = Clock.monotonicMillis()) {
        guard !queue.isEmpty, let address else { return }
        if fd < 0 {
            guard now >= retryAt else { return }
            guard connectTo(address) else {
                retryAt = now + backoff
                backoff = min(backoff * 2, 5000)
                return
            }
            backoff = 100
            written = 0
        }
        while !queue.isEmpty {
            if queue[0].frame == nil {
                var pairs = queue[0].pairs
                if queue[0].droppedBefore > 0 { pairs.append(("dropped", .int(queue[0].droppedBefore))) }
                queue[0].frame = RPCMessage.notification(method: ShimNotification.event.rawValue, params: .object(pairs)).frame
            }
            let frame = queue[0].frame!
            let n = frame.withUnsafeBytes { send(fd, $0.baseAddress! + written, frame.count - written, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                disconnect()
                retryAt = now + backoff
                return
            }
            written += n
            if written == frame.count { queue.removeFirst(); written = 0 }
        }
    }

    /// What the loop polls the connection for: POLLOUT while a frame waits, and
    /// POLLIN to notice the manager closing (it never sends anything).
    var pollEvents: Int16 { Int16(POLLIN) | (queue.isEmpty ? 0 : Int16(POLLOUT)) }

    func handle(revents: Int16) {
        if revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
            var buf = [UInt8](repeating: 0, count: 512)
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { disconnect(); return }
        }
        if revents & Int16(POLLOUT) != 0 { flush() }
    }

    /// Milliseconds until the next reconnect attempt; -1 when none is due.
    func timeout(now: Int64 = Clock.monotonicMillis()) -> Int32 {
        guard fd < 0, !queue.isEmpty, address != nil else { return -1 }
        return Int32(max(0, min(retryAt - now, 5000)))
    }

    private func disconnect() {
        if fd >= 0 { close(fd); fd = -1 }
        // A frame cut in the middle is sent again whole on the next connection.
        written = 0
    }

    private func connectTo(_ address: String) -> Bool {
        let path = address.hasPrefix("unix://") ? String(address.dropFirst(7)) : address
        guard case (var addr, let len)? = Sys.unixAddress(path) else { return false }
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if s < 0 { return false }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, len) } }
        // A unix connect completes at once or fails; EAGAIN means the listener's backlog is full.
        if rc != 0 { close(s); return false }
        fd = s
        return true
    }
}
