import Glibc

/// Starts a detached POSIX thread. The server runs its blocking loops (accept,
/// one per connection) on threads of their own, never on Swift concurrency's
/// cooperative pool, which must not block in syscalls.
enum Thread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Returns false when the system refuses another thread.
    @discardableResult
    static func detach(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        // The loops need little stack; 1 MiB holds JSONParser at its 512-level nesting limit; pages are only touched when used.
        pthread_attr_setstacksize(&attr, 1024 * 1024)
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { arg in
            let body = Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            return false
        }
        return true
    }
}
