import Glibc

/// The DNS server's one POSIX thread. Its poll loop blocks in a syscall, so
/// it must not run on Swift concurrency's cooperative pool (the same reason
/// as berthd's Thread helper in Manager, which this module cannot depend on).
enum DNSThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts a joinable thread; nil when the system refuses one.
    static func start(_ body: @escaping () -> Void) -> pthread_t? {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        // The loop's frames are small; 512 KiB leaves room for the parser.
        pthread_attr_setstacksize(&attr, 512 * 1024)
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

/// A mutex with a condition variable: the API threads and the loop share
/// the tables under it, and `stopListening` waits on it until the loop has
/// closed the sockets (so the port is free when the call returns).
final class DNSLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits until `done()` holds; called with the lock held (inside `locked`).
    func wait(until done: () -> Bool) {
        while !done() { pthread_cond_wait(cond, mutex) }
    }

    func broadcast() { pthread_cond_broadcast(cond) }
}
