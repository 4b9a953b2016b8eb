import CBerth
import Glibc

/// The parent↔child protocol during create and exec: one SOCK_SEQPACKET
/// socketpair, each message a tag byte and an optional UTF-8 payload.
///
/// | step | direction | message | meaning |
/// | --- | --- | --- | --- |
/// | 1 | parent → child | `go` | uid/gid maps written, cgroup joined: continue |
/// | 2 | child → parent | `hooks` | namespaces and mounts ready: run prestart + createRuntime |
/// | 3 | parent → child | `hooksDone` | hooks passed: run createContainer, pivot_root |
/// | 4 | child → parent | `ready` | everything up to exec is done; parked on the exec fifo |
/// | any | child → parent | `error` + text | setup failed; the child exits |
///
/// For exec the child sends nothing on success: the socket is close-on-exec, so
/// the parent reads EOF when execve succeeded, or `error` + text when it failed.
struct SyncChannel {
    enum Tag: UInt8 { case go = 1, hooks, hooksDone, ready, error }

    let fd: Int32

    static func pair() throws(RuntimeError) -> (parent: SyncChannel, child: SyncChannel) {
        var fds: [Int32] = [0, 0]
        try check("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (SyncChannel(fd: fds[0]), SyncChannel(fd: fds[1]))
    }

    func send(_ tag: Tag, _ text: String = "") {
        let bytes = [tag.rawValue] + Array(text.utf8.prefix(16000))
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next message, or nil at EOF (the other side exited or exec'd).
    func receive() -> (Tag, String)? {
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0, let tag = Tag(rawValue: buf[0]) else { return nil }
            return (tag, String(decoding: buf[1..<n], as: UTF8.self))
        }
    }

    /// Waits for `tag`; an `error` message or EOF becomes the thrown error.
    func expect(_ tag: Tag, orElse eof: String) throws(RuntimeError) -> String {
        guard let (got, text) = receive() else { throw RuntimeError(eof) }
        if got == .error { throw RuntimeError(text) }
        guard got == tag else { throw RuntimeError("internal error: expected sync message \(tag), got \(got)") }
        return text
    }

    func close() { Glibc.close(fd) }
}
