import Glibc
import Synchronization

/// One berthd per root: an exclusive flock on ROOT/berthd.lock, held for the
/// daemon's life (the kernel drops it when the process dies, however it dies).
/// The file holds the holder's pid, so a refused second instance can name it.
public final class DaemonLock: Sendable {
    public let path: String
    private let held = Mutex<Int32>(-1)

    public init(path: String) { self.path = path }

    deinit { release() }

    public func acquire() throws(DaemonError) {
        let f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if f < 0 { throw DaemonError.errno("lock \(path)") }
        if flock(f, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let holder = DaemonLock.readPid(f)
            close(f)
            if e == EWOULDBLOCK {
                let who = holder.map { "pid \($0)" } ?? "another process"
                throw DaemonError("another berthd (\(who)) is already running with this root: \(path) is locked")
            }
            throw DaemonError.errno("lock \(path)", e)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(f, 0)
        _ = text.withUnsafeBytes { pwrite(f, $0.baseAddress, $0.count, 0) }
        held.withLock { $0 = f }
    }

    /// Removes the pid from the file; the lock goes with the descriptor.
    public func release() {
        held.withLock { fd in
            guard fd >= 0 else { return }
            _ = ftruncate(fd, 0)
            close(fd)
            fd = -1
        }
    }

    private static func readPid(_ f: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(f, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buf[0..<n], as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == " " }).first
        return text.flatMap { Int32($0) }
    }
}
