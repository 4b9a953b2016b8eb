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
/// | any | child → parent | `seccompFD` + fd | a filter with SCMP_ACT_NOTIFY is loaded: its listener fd |
/// | after seccompFD | parent → child | `seccompDone` | the fd reached the seccomp agent at listenerPath |
///
/// For exec the child sends nothing on success: the socket is close-on-exec, so
/// the parent reads EOF when execve succeeded, or `error` + text when it failed.
struct SyncChannel {
    enum Tag: UInt8 { case go = 1, hooks, hooksDone, ready, error, seccompFD, seccompDone }

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

    func send(_ tag: Tag, fd passed: Int32) {
        var byte = tag.rawValue
        _ = withUnsafePointer(to: &byte) { $0.withMemoryRebound(to: CChar.self, capacity: 1) { cb_send_fd(fd, passed, $0, 1) } }
    }

    /// The next message, or nil at EOF (the other side exited or exec'd).
    func receive() -> (Tag, String)? {
        guard let (tag, text, passed) = receiveWithFD() else { return nil }
        if passed >= 0 { Glibc.close(passed) }
        return (tag, text)
    }

    func receiveWithFD() -> (Tag, String, Int32)? {
        var buf = [UInt8](repeating: 0, count: 16384)
        var passed: Int32 = -1
        let n = buf.withUnsafeMutableBytes { cb_recv_msg(fd, $0.baseAddress, $0.count, &passed) }
        guard n > 0, let tag = Tag(rawValue: buf[0]) else {
            if passed >= 0 { Glibc.close(passed) }
            return nil
        }
        return (tag, String(decoding: buf[1..<Int(n)], as: UTF8.self), passed)
    }

    /// Waits for `tag`; an `error` message or EOF becomes the thrown error.
    /// `onSeccompFD` serves a listener fd arriving on the way (SCMP_ACT_NOTIFY).
    func expect(_ tag: Tag, orElse eof: String, onSeccompFD: ((Int32) throws(RuntimeError) -> Void)? = nil) throws(RuntimeError) -> String {
        var message = receiveWithFD()
        while let (got, _, passed) = message, got == .seccompFD {
            defer { if passed >= 0 { Glibc.close(passed) } }
            guard let onSeccompFD, passed >= 0 else { throw RuntimeError("internal error: unexpected seccomp listener fd") }
            try onSeccompFD(passed)
            send(.seccompDone)
            message = receiveWithFD()
        }
        guard let (got, text, passed) = message else { throw RuntimeError(eof) }
        if passed >= 0 { Glibc.close(passed) }
        if got == .error { throw RuntimeError(text) }
        guard got == tag else { throw RuntimeError("internal error: expected sync message \(tag), got \(got)") }
        return text
    }

    func close() { Glibc.close(fd) }
}
