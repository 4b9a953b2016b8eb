import Glibc

/// POSIX threads, detached or to be joined. The server runs its blocking loops (accept,
/// one per connection) on threads of their own, never on Swift concurrency's
/// cooperative pool, which must not block in syscalls.
enum Thread {
    /// Returns false when the system refuses another thread.
    @discardableResult
    static func detach(_ body: @escaping @Sendable () -> Void) -> Bool {
        start(body, detached: true) != nil
    }

    /// Starts a thread to be joined (pthread_join); nil when the system refuses one.
    static func joinable(_ body: @escaping () -> Void) -> pthread_t? {
        start(body, detached: false)
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private static func start(_ body: @escaping () -> Void, detached: Bool) -> pthread_t? {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if detached { pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED)) }
        // The loops need little stack; 1 MiB holds JSONParser at its 512-level nesting limit; pages are only touched when used.
        pthread_attr_setstacksize(&attr, 1024 * 1024)
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { arg in
            Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            return nil
        }
        return tid
    }
}

/// Work on a thread of its own while the caller does something else, then
/// `join` for its result (the exit path: the shim's delete beside berthd's own
/// teardown). When no thread can be had, the work runs at once, in `init`.
final class Joinable<T>: @unchecked Sendable {
    private final class Slot: @unchecked Sendable { var value: T? }
    private let slot = Slot()
    private var tid: pthread_t?

    init(_ body: @escaping () -> T) {
        let slot = self.slot
        let run = { slot.value = body() }
        tid = Thread.joinable(run)
        if tid == nil { run() }
    }

    /// Waits for the work's end; its result. Called once.
    func join() -> T {
        if let t = tid {
            pthread_join(t, nil)
            tid = nil
        }
        return slot.value!
    }
}
