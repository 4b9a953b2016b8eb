import Content
import Glibc

/// Unpacks a layer from bytes the caller pushes as they arrive (a download's
/// chunks), on a thread of its own, so decompression, hashing and writing
/// overlap with the transfer:
///
///     let stream = try LayerUnpackStream(into: upperDir, options: …)
///     for chunk in download { try stream.write(chunk) }   // blocks while 8 MiB are queued
///     let result = try stream.finish()                    // waits; diffID verified
///
/// `write` blocks for back-pressure, so call it from a thread that may block (a
/// libcurl write callback, a dedicated task thread), not from a cooperative
/// executor thread. It throws as soon as the unpack has failed (stop downloading
/// then); `finish` reports the failure. `cancel()` stops the unpack; dropping
/// the stream without `finish` cancels it. Chunks are kept, not copied, while queued.
public final class LayerUnpackStream: Sendable {
    private let queue: ChunkQueue
    private let thread: pthread_t

    /// Starts the unpack thread; it waits for bytes.
    public init(into directory: String, options: UnpackOptions = UnpackOptions(), bufferLimit: Int = 8 << 20) throws {
        let queue = ChunkQueue(directory: directory, options: options, limit: bufferLimit)
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            // The thread owns a reference to the queue, not to the stream, so dropping
            // the stream runs its deinit (which cancels) even while the thread waits.
            let queue = Unmanaged<ChunkQueue>.fromOpaque(arg!).takeRetainedValue()
            queue.run()
            return nil
        }, Unmanaged.passRetained(queue).toOpaque())
        guard rc == 0 else {
            Unmanaged.passUnretained(queue).release()
            throw UnpackError.errno("start the unpack thread", rc)
        }
        self.queue = queue
        self.thread = t
    }

    deinit {
        queue.cancel()
        queue.join(thread)
    }

    /// Queues a chunk; blocks while more than the buffer limit is queued.
    /// Throws the unpack's error if it has failed already.
    public func write(_ chunk: [UInt8]) throws { try queue.write(chunk) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws { try queue.write(Array(bytes)) }

    /// Marks the end of the bytes and waits for the unpack to complete.
    public func finish() throws -> UnpackResult {
        queue.end()
        queue.join(thread)
        return try queue.outcome()
    }

    /// Stops the unpack (what was written so far stays: discard the directory)
    /// and waits for its thread to end.
    public func cancel() {
        queue.cancel()
        queue.join(thread)
    }
}

/// The chunks between the writer and the unpack thread. Every var is guarded by
/// `mutex`; `changed` is signalled on every change.
private final class ChunkQueue: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var chunks: [[UInt8]] = []
    private var head = 0
    private var queuedBytes = 0
    private var ended = false
    private var cancelled = false
    private var joined = false
    private var result: Result<UnpackResult, Error>?
    private let limit: Int
    private let directory: String
    private let options: UnpackOptions

    init(directory: String, options: UnpackOptions, limit: Int) {
        self.directory = directory
        self.options = options
        self.limit = limit
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    func write(_ chunk: [UInt8]) throws {
        guard !chunk.isEmpty else { return }
        try locked {
            while queuedBytes >= limit && result == nil && !cancelled {
                pthread_cond_wait(changed, mutex)
            }
            if case .failure(let e)? = result { throw e }
            guard result == nil, !ended, !cancelled else {
                throw UnpackError(.cancelled, "layer unpack into \(directory) is already finished or cancelled")
            }
            chunks.append(chunk)
            queuedBytes += chunk.count
            pthread_cond_broadcast(changed)
        }
    }

    func end() { locked { ended = true; pthread_cond_broadcast(changed) } }

    func cancel() { locked { cancelled = true; pthread_cond_broadcast(changed) } }

    func join(_ thread: pthread_t) {
        let first = locked { () -> Bool in
            defer { joined = true }
            return !joined
        }
        if first { pthread_join(thread, nil) }
    }

    func outcome() throws -> UnpackResult {
        try locked {
            guard let result else { throw UnpackError(.cancelled, "layer unpack into \(directory) did not finish") }
            return try result.get()
        }
    }

    /// The unpack thread's body.
    func run() {
        let r = Result { try LayerUnpacker.apply(source: QueueSource(self), to: directory, options: options) }
        locked {
            result = r
            chunks.removeAll()
            queuedBytes = 0
            pthread_cond_broadcast(changed)
        }
    }

    /// The next chunk for the reader, nil at the end. `previous` is the size of
    /// the chunk libarchive is done with (it may use a block until the next call).
    func take(releasing previous: Int) throws -> [UInt8]? {
        try locked {
            queuedBytes -= previous
            pthread_cond_broadcast(changed)
            while head == chunks.count && !ended && !cancelled {
                pthread_cond_wait(changed, mutex)
            }
            if cancelled { throw UnpackError(.cancelled, "layer unpack into \(directory) cancelled") }
            guard head < chunks.count else { return nil }
            let chunk = chunks[head]
            chunks[head] = []
            head += 1
            if head > 64 && head * 2 > chunks.count {
                chunks.removeFirst(head)
                head = 0
            }
            return chunk
        }
    }
}

/// Feeds the reader from the queue, holding the current chunk alive.
private final class QueueSource: ByteSource {
    private let queue: ChunkQueue
    private var current: [UInt8] = []

    init(_ queue: ChunkQueue) { self.queue = queue }

    func next() throws -> UnsafeRawBufferPointer? {
        let previous = current.count
        current = []
        guard let chunk = try queue.take(releasing: previous) else { return nil }
        current = chunk
        return current.withUnsafeBytes { $0 }
    }
}
