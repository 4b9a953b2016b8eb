import Glibc
import OCI
import RPC

/// One attached stream (`run` without -d, `start -a`, `attach`, `exec`): the
/// request goes to berthd, its `output` notifications are printed (stdout
/// records on stdout, stderr on stderr) and the user's input goes back as
/// `stdin` notifications until berthd answers. With a terminal the local tty
/// is raw for the duration, window changes are sent as `resize`, and the
/// detach keys end the session leaving the container running.
struct StreamSession {
    /// Forward berth's stdin (`-i`).
    var stdin = false
    /// The process has a terminal (`-t`): raw mode, resize, detach keys.
    var tty = false
    var detachKeys = DetachKeys.default
    /// Without a terminal: forward the signals berth gets to this container (`--sig-proxy`).
    var proxySignalsTo: String?
    /// For `--sig-proxy`: a second connection for container.kill.
    var host: String?

    enum Outcome {
        /// berthd answered the request.
        case finished(JSONValue)
        /// The user typed the detach keys; the connection was closed.
        case detached
    }

    /// The signals forwarded with --sig-proxy (Docker forwards all but SIGCHLD, SIGPIPE, SIGURG and SIGWINCH).
    static let proxied: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGCONT, SIGTSTP,
                                   SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS]

    /// Sends `method` and serves the stream until its answer. `sized`
    /// receives the terminal's size before the request goes out, for params
    /// that carry it.
    func run(_ client: BerthClient, _ method: BerthMethod, params: JSONValue) throws -> Outcome {
        let raw = tty && stdin && isatty(STDIN_FILENO) == 1
        var signals: [Int32] = []
        if tty { signals += [SIGWINCH] }
        if raw { signals += [SIGINT, SIGTERM, SIGHUP, SIGQUIT] }
        if !tty, proxySignalsTo != nil { signals += StreamSession.proxied }
        let channel = signals.isEmpty ? nil : try SignalChannel(signals)
        defer { channel?.close() }
        if raw { RawTerminal.enable(STDIN_FILENO) }
        defer { RawTerminal.restore() }

        let id = try client.send(request: method.rawValue, params)
        var lastSize: (Int, Int)?
        func sendSize() throws {
            guard tty, let s = RawTerminal.size(), lastSize.map({ $0 != s }) ?? true else { return }
            lastSize = s
            try client.resize(request: id, width: s.width, height: s.height)
        }
        try sendSize()

        var stdinOpen = stdin
        var matcher = DetachKeys.Matcher(detachKeys)
        var utf8 = UTF8Carry()
        var killer: BerthClient?
        var input = [UInt8](repeating: 0, count: 32768)
        while true {
            var watch: [Int32] = []
            if stdinOpen { watch.append(STDIN_FILENO) }
            if let channel { watch.append(channel.fd) }
            switch try client.nextEvent(watching: watch) {
            case let .notification(name, params):
                if name == BerthAPI.StreamNotification.output, RPCID(json: params?["request"]) == id || params?["request"] == nil {
                    let fdOut = params?["stream"]?.stringValue == "stderr" ? STDERR_FILENO : STDOUT_FILENO
                    StreamSession.write(fdOut, Array((params?["data"]?.stringValue ?? "").utf8))
                } else {
                    client.onNotification?(name, params)
                }
            case let .result(rid, value) where rid == id:
                return .finished(value)
            case let .error(rid, error) where rid == id || rid == nil:
                throw error
            case .readable(STDIN_FILENO):
                let n = input.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 {
                    stdinOpen = false
                    let rest = utf8.flush()
                    if !rest.isEmpty { try client.sendStdin(request: id, data: rest) }
                    try client.closeStdin(request: id)
                    continue
                }
                var bytes = Array(input[0..<n])
                var detach = false
                if tty { (bytes, detach) = matcher.feed(bytes) }
                let text = utf8.take(bytes)
                if !text.isEmpty { try client.sendStdin(request: id, data: text) }
                if detach {
                    client.close()
                    return .detached
                }
            case .readable(let fd) where fd == channel?.fd:
                for sig in channel?.read() ?? [] {
                    if sig == SIGWINCH {
                        try sendSize()
                    } else if !tty, let target = proxySignalsTo {
                        if killer == nil { killer = try BerthClient(host: host) }
                        _ = try? killer?.call(.containerKill, BerthAPI.ContainerKillParams(id: target, signal: SignalChannel.name(sig)), as: NoParams.self)
                    } else {
                        RawTerminal.restore()
                        SignalChannel.dieOf(sig)
                    }
                }
            default:
                continue
            }
        }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; return }
            off += n
        }
    }
}

/// Input bytes as text for the `stdin` notification: a UTF-8 sequence split
/// between two reads is held until its end arrives; bytes that are not UTF-8
/// become U+FFFD (the API carries text).
struct UTF8Carry {
    private var pending: [UInt8] = []

    mutating func take(_ bytes: [UInt8]) -> String {
        let all = pending + bytes
        // Hold back an incomplete sequence at the end (at most 3 bytes).
        var cut = all.count
        var i = all.count - 1
        var back = 0
        while i >= 0 && back < 4 {
            let b = all[i]
            if b & 0xC0 == 0x80 { i -= 1; back += 1; continue }
            let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            if need > all.count - i { cut = i }
            break
        }
        pending = Array(all[cut...])
        return String(decoding: all[..<cut], as: UTF8.self)
    }

    mutating func flush() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}
