import Glibc

/// Hands a layer's bytes from its download thread to its unpack thread, so a
/// layer is unpacked while it downloads. Bounded: when the unpacker lags (it
/// waits for the layer below to be committed, or the disk is slower than the
/// network) the download thread blocks in `push` once `limit` bytes wait,
/// instead of the daemon buffering a whole layer in memory.
///
/// Downloads start in layer order, so the lowest unfinished layer always has
/// a running download and an unpacker that is not waiting: no cycle of waits.
final class LayerFeed: @unchecked Sendable {
    private var chunks: [[UInt8]] = []
    private var head = 0
    private var queued = 0
    private var finished = false
    private var failure: (any Error)?
    private var abandoned = false
    private var fromBlob = false
    private let limit: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(limit: Int = 32 << 20) {
        self.limit = limit
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Download side: queues a copy of `bytes`; blocks while the queue is full.
    /// Throws when the unpacker gave up (its error stops the download).
    func push(_ bytes: UnsafeRawBufferPointer) throws {
        let copy = [UInt8](bytes)
        try locked {
            while queued >= limit && !abandoned { pthread_cond_wait(cond, mutex) }
            if abandoned { throw LayerFeedAbandoned() }
            chunks.append(copy)
            queued += copy.count
            pthread_cond_broadcast(cond)
        }
    }

    /// Download side: no more bytes (error nil), or the download failed.
    func finish(_ error: (any Error)? = nil) {
        locked {
            finished = true
            failure = error
            pthread_cond_broadcast(cond)
        }
    }

    /// Download side: the blob was in the store when the download began, so no
    /// bytes come through the feed; the unpacker reads the blob instead.
    func finishFromBlob() {
        locked {
            finished = true
            fromBlob = true
            pthread_cond_broadcast(cond)
        }
    }

    /// True once `finishFromBlob` was called.
    var usesBlob: Bool { locked { fromBlob } }

    /// Unpack side: the next chunk, blocking until there is one; nil at the end.
    /// Throws the download's error.
    func next() throws -> [UInt8]? {
        try locked {
            while head == chunks.count && !finished { pthread_cond_wait(cond, mutex) }
            if head < chunks.count {
                let c = chunks[head]
                chunks[head] = []
                head += 1
                queued -= c.count
                if head > 64 { chunks.removeFirst(head); head = 0 }
                pthread_cond_broadcast(cond)
                return c
            }
            if let failure { throw failure }
            return nil
        }
    }

    /// Unpack side: stop taking bytes (the unpack failed); a blocked push throws.
    func abandon() {
        locked {
            abandoned = true
            chunks = []
            head = 0
            queued = 0
            pthread_cond_broadcast(cond)
        }
    }
}

struct LayerFeedAbandoned: Error, CustomStringConvertible {
    var description: String { "the layer's unpack stopped" }
}
