import Glibc
import OCI
import RPC

extension ContainerService {
    /// `stop`: the stop signal, then SIGKILL after the timeout (-1: wait forever).
    /// A container that is not running is left as it is (Docker's no-op).
    func stop(_ entry: ContainerEntry, timeout: Int?) throws {
        try entry.locked { g in
            if g.record.state.status == .restarting {
                // A restart waiting for its back-off: cancelled.
                g.record.state.status = .exited
                g.record.manuallyStopped = true
                persist(g.record)
                return
            }
            guard let task = g.task else { return }
            g.record.manuallyStopped = true
            persist(g.record)
            let signal = try Signals.number(g.record.config.stopSignal ?? "SIGTERM")
            let seconds = timeout ?? g.record.config.stopTimeout ?? 10
            let before = g.exits
            let client = try shimClient(task)
            emit("kill", g.record, ["signal": String(signal)])
            _ = try? client.kill(signal: Int(signal), all: false)
            if g.record.state.status == .paused { _ = try? client.resume() }
            let exited = seconds >= 0 ? g.wait(timeoutMillis: Int64(seconds) * 1000) { g.exits > before || g.task == nil } : g.wait(timeoutMillis: -1) { g.exits > before || g.task == nil }
            if !exited {
                emit("kill", g.record, ["signal": "9"])
                _ = try? client.kill(signal: 9, all: true)
                if !g.wait(timeoutMillis: 30_000, until: { g.exits > before || g.task == nil }) {
                    throw BerthError(.internal, "container \(entry.id) did not exit 30 s after SIGKILL")
                }
            }
            emit("stop", g.record)
        }
    }

    /// `kill -s SIGNAL` (SIGKILL by default).
    func kill(_ entry: ContainerEntry, signal: String?) throws {
        let sig = try Signals.number(signal ?? "SIGKILL")
        try entry.locked { g in
            guard let task = g.task, g.record.state.hasTask else {
                throw BerthError(.failedPrecondition, "Cannot kill container: \(entry.id): Container \(entry.id) is not running")
            }
            // Stopping signals are a user's stop: no restart policy brings it back.
            if sig == SIGKILL || sig == (try? Signals.number(g.record.config.stopSignal ?? "SIGTERM")) {
                g.record.manuallyStopped = true
                persist(g.record)
            }
            let client = try shimClient(task)
            try shimCall { () throws(RPCError) in try client.kill(signal: Int(sig), all: sig == SIGKILL) }
            emit("kill", g.record, ["signal": String(sig)])
        }
    }

    func pause(_ entry: ContainerEntry) throws {
        try entry.locked { g in
            guard let task = g.task else { throw BerthError(.failedPrecondition, "Container \(entry.id) is not running") }
            if g.record.state.status == .paused { throw BerthError(.failedPrecondition, "Container \(entry.id) is already paused") }
            let client = try shimClient(task)
            try shimCall { () throws(RPCError) in try client.pause() }
            g.record.state.status = .paused
            persist(g.record)
            emit("pause", g.record)
        }
    }

    func unpause(_ entry: ContainerEntry) throws {
        try entry.locked { g in
            guard let task = g.task, g.record.state.status == .paused else {
                throw BerthError(.failedPrecondition, "Container \(entry.id) is not paused")
            }
            let client = try shimClient(task)
            try shimCall { () throws(RPCError) in try client.resume() }
            g.record.state.status = .running
            persist(g.record)
            emit("unpause", g.record)
        }
    }

    /// `restart`: stop (when running), then start.
    func restart(_ entry: ContainerEntry, timeout: Int?) throws {
        // The exit this stop causes is not the container's end, also with `--rm`.
        entry.locked { g in g.keepAtExit = true }
        defer { entry.locked { g in g.keepAtExit = false } }
        try stop(entry, timeout: timeout)
        try start(entry)
        emit("restart", entry.record)
    }

    /// `wait`: the exit code once the condition holds.
    func wait(_ entry: ContainerEntry, condition: String, isCancelled: () -> Bool) throws -> BerthAPI.ContainerWaitResult {
        let notRunning: (ContainerEntry.Guarded) -> Bool = { g in !g.record.state.hasTask && g.record.state.status != .restarting }
        return try entry.locked { g in
            let before = g.exits
            let done: () -> Bool
            switch condition {
            case "", "not-running": done = { notRunning(g) || g.removed }
            case "next-exit": done = { g.exits > before || g.removed }
            case "removed": done = { g.removed }
            default: throw BerthError(.invalidArgument, "invalid condition: \"\(condition)\"")
            }
            while !g.wait(timeoutMillis: 500, until: done) {
                if isCancelled() { throw BerthError.canceled("wait: canceled: the client went away") }
            }
            let s = g.record.state
            return BerthAPI.ContainerWaitResult(statusCode: s.exitCode, error: s.error.isEmpty ? nil : s.error)
        }
    }
}

/// Signal names and numbers as `kill -s` and StopSignal take them: "SIGTERM", "TERM", "15".
enum Signals {
    static let table: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT, "IOT": SIGIOT,
        "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2, "PIPE": SIGPIPE,
        "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT, "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP,
        "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ,
        "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGPOLL, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    static func number(_ s: String) throws -> Int32 {
        if let n = Int32(s), n > 0, n < 65 { return n }
        var name = s.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let n = table[name] { return n }
        // SIGRTMIN is 34 with glibc (two real-time signals are its own), SIGRTMAX 64.
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), k >= 0, 34 + k <= 64 { return 34 + k }
        throw BerthError(.invalidArgument, "Invalid signal: \(s)")
    }
}
