#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a libcurl transfer, with its retries and back-off sleeps) on a thread
/// of its own, so a long download never occupies a thread of Swift's cooperative pool.
public enum BlockingThread {
    private final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            let arg = Unmanaged.passRetained(job).toOpaque()
            var attr = pthread_attr_t()
            pthread_attr_init(&attr)
            pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
            pthread_attr_setstacksize(&attr, 1 << 20)
            var thread = pthread_t()
            let rc = pthread_create(&thread, &attr, { raw in
                Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, arg)
            pthread_attr_destroy(&attr)
            if rc != 0 {
                // No thread to be had: run here rather than fail.
                Unmanaged<Job>.fromOpaque(arg).takeRetainedValue().body()
            }
        }
    }
}
