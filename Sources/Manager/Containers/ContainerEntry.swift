import Glibc
import RPC

/// One container in berthd's memory: its record and, while one runs, its
/// task's shim. A pthread mutex with a condition serializes what changes the
/// container (start, stop, exit handling, remove); those run on threads of
/// their own, never on Swift's cooperative pool. Waiting for an exit releases
/// the mutex, so the exit handler can run while `stop` waits.
final class ContainerEntry: @unchecked Sendable {
    /// The shim of the running task.
    struct Task: Equatable {
        var address: String
        var shimPid: Int32
    }

    let id: String
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    // Guarded by mutex:
    private var _record: ContainerRecord
    private var _task: Task?
    /// Counts exits handled, so a waiter can tell "an exit happened since I looked".
    private var _exits = 0
    private var _removed = false
    private var _keepAtExit = false

    init(_ record: ContainerRecord) {
        id = record.id
        _record = record
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    /// A copy of the record (for reads: ps, inspect).
    var record: ContainerRecord { locked { $0.record } }

    /// Runs `body` holding the container's mutex.
    func locked<T>(_ body: (Guarded) throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(Guarded(entry: self))
    }

    /// The guarded state, reachable only inside `locked`.
    struct Guarded {
        fileprivate let entry: ContainerEntry
        var record: ContainerRecord {
            get { entry._record }
            nonmutating set { entry._record = newValue }
        }
        var task: Task? {
            get { entry._task }
            nonmutating set { entry._task = newValue }
        }
        var exits: Int { entry._exits }
        /// A restart is stopping the task: `--rm` does not apply to this exit
        /// (Docker keeps an auto-removed container through `restart`).
        var keepAtExit: Bool {
            get { entry._keepAtExit }
            nonmutating set { entry._keepAtExit = newValue }
        }
        var removed: Bool {
            get { entry._removed }
            nonmutating set { entry._removed = newValue; entry.broadcast() }
        }
        /// An exit was handled: wakes every waiter.
        func exitHandled() {
            entry._exits += 1
            entry.broadcast()
        }
        /// Waits (releasing the mutex) until `done` holds or `timeoutMillis`
        /// passes (< 0: forever). Returns whether `done` holds.
        func wait(timeoutMillis: Int64, until done: () -> Bool) -> Bool {
            entry.waitLocked(timeoutMillis: timeoutMillis, until: done)
        }
    }

    private func broadcast() { pthread_cond_broadcast(&cond) }

    private func waitLocked(timeoutMillis: Int64, until done: () -> Bool) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let ms = max(timeoutMillis, 0)
        deadline.tv_sec += Int(ms / 1000)
        deadline.tv_nsec += Int(ms % 1000) * 1_000_000
        if deadline.tv_nsec >= 1_000_000_000 { deadline.tv_sec += 1; deadline.tv_nsec -= 1_000_000_000 }
        while !done() {
            if timeoutMillis < 0 {
                pthread_cond_wait(&cond, &mutex)
            } else if pthread_cond_timedwait(&cond, &mutex, &deadline) == ETIMEDOUT {
                return done()
            }
        }
        return true
    }
}
