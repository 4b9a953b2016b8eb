import Content
import Glibc

/// Unpacks a layer from bytes the caller pushes as they arrive (a download's
/// chunks), on a thread of its own, so decompression, hashing and writing
/// overlap with the transfer:
///
///     let stream = try LayerUnpackStream(into: upperDir, options: …)
///     for chunk in download { try stream.write(chunk) }   // blocks when 8 MiB are queued
///     let result = try stream.finish()                    // waits; diffID verified
///
/// `write` throws as soon as the unpack has failed (stop downloading then);
/// `finish` reports the failure. `cancel()` stops the unpack; dropping the stream
/// without `finish` cancels it too. Chunks are kept, not copied, while queued.
public final class LayerUnpackStream: @unchecked Sendable {
    // All state below is guarded by `mutex` and signalled through `changed`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [[UInt8]] = []
    private var head = 0
    private var queuedBytes = 0
    private var ended = false
    private var cancelled = false
    private var outcome: Result<UnpackResult, Error>?
    private var thread: pthread_t?
    private let limit: Int

    private let directory: String
    private let options: UnpackOptions

    /// Starts the unpack thread; it waits for bytes.
    public init(into directory: String, options: UnpackOptions = UnpackOptions(), bufferLimit: Int = 8 << 20) throws {
        self.directory = directory
        self.options = options
        self.limit = bufferLimit
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            let stream = Unmanaged<LayerUnpackStream>.fromOpaque(arg!).takeRetainedValue()
            stream.run()
            return nil
        }, Unmanaged.passRetained(self).toOpaque())
        guard rc == 0 else {
            throw UnpackError.errno("start the unpack thread", rc)
        }
        thread = t
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Queues a chunk; blocks while more than the buffer limit is queued.
    /// Throws the unpack's error if it has failed already.
    public func write(_ chunk: [UInt8]) throws {
        guard !chunk.isEmpty else { return }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while queuedBytes >= limit && outcome == nil && !cancelled {
            pthread_cond_wait(changed, mutex)
        }
        if case .failure(let e)? = outcome { throw e }
        guard outcome == nil, !ended, !cancelled else {
            throw UnpackError(.cancelled, "layer unpack into \(directory) is already finished")
        }
        queue.append(chunk)
        queuedBytes += chunk.count
        pthread_cond_broadcast(changed)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try write(Array(bytes))
    }

    /// Marks the end of the bytes and waits for the unpack to complete.
    public func finish() throws -> UnpackResult {
        pthread_mutex_lock(mutex)
        ended = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        join()
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try outcome!.get()
    }

    /// Stops the unpack (what was written so far stays; discard the directory)
    /// and waits for its thread to end.
    public func cancel() {
        pthread_mutex_lock(mutex)
        cancelled = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        join()
    }

    private func join() {
        pthread_mutex_lock(mutex)
        let t = thread
        thread = nil
        pthread_mutex_unlock(mutex)
        if let t { pthread_join(t, nil) }
    }

    // MARK: the unpack thread

    private func run() {
        let result = Result { try LayerUnpacker.apply(source: QueueSource(self), to: directory, options: options) }
        pthread_mutex_lock(mutex)
        outcome = result
        queue.removeAll()
        queuedBytes = 0
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// The next queued chunk for the reader; nil at the end. The previous chunk
    /// (still referenced by libarchive until this call) is released here.
    fileprivate func take(releasing previous: Int) throws -> [UInt8]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        queuedBytes -= previous
        pthread_cond_broadcast(changed)
        while head == queue.count && !ended && !cancelled {
            pthread_cond_wait(changed, mutex)
        }
        if cancelled { throw UnpackError(.cancelled, "layer unpack into \(directory) cancelled") }
        guard head < queue.count else { return nil }
        let chunk = queue[head]
        queue[head] = []
        head += 1
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return chunk
    }
}

/// Feeds the reader from the stream's queue, holding the current chunk alive.
private final class QueueSource: ByteSource {
    private unowned let stream: LayerUnpackStream
    private var current: [UInt8] = []

    init(_ stream: LayerUnpackStream) { self.stream = stream }

    func next() throws -> UnsafeRawBufferPointer? {
        let previous = current.count
        current = []
        guard let chunk = try stream.take(releasing: previous) else { return nil }
        current = chunk
        return current.withUnsafeBytes { $0 }
    }
}
