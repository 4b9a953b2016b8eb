import OCI
import RPC
import Synchronization

/// Docker's event stream (`berth events`): every container action is recorded
/// in a ring of the most recent events (for `--since`) and handed to the live
/// subscribers. Kept in memory, as Docker does: events are about the present.
public final class EventLog: Sendable {
    public typealias Subscriber = @Sendable (BerthAPI.Event) -> Void

    private struct State {
        var ring: [BerthAPI.Event] = []
        var next = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextToken = 0
    }
    private let state = Mutex(State())
    let capacity: Int

    public init(capacity: Int = 1024) { self.capacity = capacity }

    public func emit(type: String = "container", action: String, id: String, attributes: [String: String]) {
        let ts = Clock.now()
        let nanos = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        let event = BerthAPI.Event(type: type, action: action, actor: .init(id: id, attributes: attributes),
                                   time: Int64(ts.tv_sec), timeNano: nanos)
        let subs = state.withLock { s -> [Subscriber] in
            if s.ring.count < capacity { s.ring.append(event) } else { s.ring[s.next] = event }
            s.next = (s.next + 1) % capacity
            return Array(s.subscribers.values)
        }
        for sub in subs { sub(event) }
    }

    /// The recorded events, oldest first.
    public func recent() -> [BerthAPI.Event] {
        state.withLock { s in
            s.ring.count < capacity ? s.ring : Array(s.ring[s.next...] + s.ring[..<s.next])
        }
    }

    /// Recorded events and a subscription taken at the same instant, so that
    /// none falls between them. Returns the token for `unsubscribe`.
    public func subscribe(_ body: @escaping Subscriber) -> (past: [BerthAPI.Event], token: Int) {
        state.withLock { s in
            let token = s.nextToken
            s.nextToken += 1
            s.subscribers[token] = body
            let past = s.ring.count < capacity ? s.ring : Array(s.ring[s.next...] + s.ring[..<s.next])
            return (past, token)
        }
    }

    public func unsubscribe(_ token: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: token) }
    }
}
