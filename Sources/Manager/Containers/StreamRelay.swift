import CBerth
import Glibc
import OCI
import RPC
import Synchronization

/// Relays one process's stdio between a berthd client and the shim (attach,
/// exec, `run` without -d): the shim's `output` notifications for that
/// process go to the client as `output` notifications naming the request;
/// the client's `stdin`, `stdin.close` and `resize` notifications go to the
/// shim. Ends when the process exits (its exit status is returned) or the
/// client goes away (nil: the process keeps running; that is a detach).
///
/// Two shim connections: one only receives notifications (attach output), one
/// carries the calls for input, so a response never waits behind output.
final class StreamRelay: @unchecked Sendable {
    private let execID: String?
    private let output: ShimClient
    private let control: ShimClient
    private let wakeFD: Int32
    private let inputs = Mutex<[(String, JSONValue?)]>([])

    /// Connects to the shim and subscribes to output, before the process starts (no output is missed).
    init(address: String, execID: String?) throws {
        self.execID = execID
        do {
            output = try ShimClient(address: address)
            control = try ShimClient(address: address)
            _ = try output.attach(output: true)
        } catch {
            throw BerthError(.unavailable, "cannot attach to the container's shim: \(error.message)")
        }
        wakeFD = cb_eventfd_cloexec()
    }

    deinit { close(wakeFD) }

    var controlClient: ShimClient { control }

    /// Queues a client notification (called on the client connection's thread).
    func input(_ method: String, _ params: JSONValue?) {
        inputs.withLock { $0.append((method, params)) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Relays for the request `ctx` (its input too when `stdin`): the exit status, nil on detach.
    func run(for ctx: RequestContext, stdin: Bool, alreadyExited: () -> Int?) -> Int? {
        if stdin { ctx.onInput { [self] m, params in input(m, params) } }
        return run(send: { ctx.notify(BerthAPI.StreamNotification.output, value: $0) },
                   isCancelled: { ctx.isCancelled }, alreadyExited: alreadyExited)
    }

    /// Runs until the process exits (its status) or `isCancelled` (nil).
    func run(send: (BerthAPI.OutputChunk) -> Bool, isCancelled: () -> Bool, alreadyExited: () -> Int?) -> Int? {
        // A process quicker than this thread has exited already, but what it wrote is
        // still on the way to us, ahead of the shim's `exit`: it is delivered first.
        if let status = alreadyExited() { return drain(send: send) ?? status }
        while true {
            if isCancelled() { return nil }
            for (method, params) in inputs.withLock({ q -> [(String, JSONValue?)] in defer { q = [] }; return q }) {
                deliver(method, params)
            }
            var fds = [pollfd(fd: output.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, 250)
            if n < 0 && errno != EINTR { return nil }
            if fds[1].revents != 0 {
                var v: UInt64 = 0
                _ = read(wakeFD, &v, 8)
            }
            if fds[0].revents != 0 {
                switch relayPending(send: send, waitMillis: 0) {
                case .waiting: continue
                case .exited(let status): return status
                case .clientGone: return nil
                // The shim went away: the exit reaches berthd by its own way.
                case .shimGone: return alreadyExited()
                }
            }
        }
    }

    enum Progress { case waiting, exited(Int), clientGone, shimGone }

    /// Relays the shim's notifications that have arrived (waiting up to `waitMillis`
    /// for each next one) until none is left, the process's `exit`, or an end.
    private func relayPending(send: (BerthAPI.OutputChunk) -> Bool, waitMillis: Int32) -> Progress {
        do {
            while let m = try output.receive(timeoutMillis: waitMillis) {
                guard case let .notification(method, params) = m, let params else { continue }
                guard params["execID"]?.stringValue == execID else { continue }
                if method == "output" {
                    let chunk = BerthAPI.OutputChunk(stream: params["stream"]?.stringValue ?? "stdout",
                                                     data: params["data"]?.stringValue ?? "")
                    if !send(chunk) { return .clientGone }
                } else if method == "exit" {
                    return .exited(Int(params["exitStatus"]?.int64Value ?? 255))
                }
            }
            return .waiting
        } catch {
            return .shimGone
        }
    }

    /// After the exit: the output up to the shim's `exit` (or until the shim closes,
    /// or a second passes without a word); the status `exit` carried, if it came.
    private func drain(send: (BerthAPI.OutputChunk) -> Bool) -> Int? {
        if case .exited(let status) = relayPending(send: send, waitMillis: 1000) { return status }
        return nil
    }

    private func deliver(_ method: String, _ params: JSONValue?) {
        switch method {
        case BerthAPI.StreamNotification.stdin:
            guard var data = params?["data"]?.stringValue else { return }
            // The shim takes what fits now; the rest is offered again shortly.
            for _ in 0..<2000 where !data.isEmpty {
                guard let n = try? control.attach(output: false, stdin: data, execID: execID) else { return }
                let bytes = Array(data.utf8)
                data = n >= bytes.count ? "" : String(decoding: bytes[n...], as: UTF8.self)
                if !data.isEmpty { usleep(5000) }
            }
        case BerthAPI.StreamNotification.stdinClose:
            _ = try? control.closeStdin(execID: execID)
        case BerthAPI.StreamNotification.resize:
            if let w = params?["width"]?.int64Value, let h = params?["height"]?.int64Value, w > 0, h > 0 {
                _ = try? control.resizePty(width: Int(w), height: Int(h), execID: execID)
            }
        default:
            break
        }
    }
}
