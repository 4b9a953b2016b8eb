import Glibc
import RPC

/// Restart policies, with Docker's back-off: the delay before a restart
/// starts at 100 ms and doubles with each restart (at most a minute), and
/// goes back to 100 ms once the container has stayed up 10 s.
extension ContainerService {
    static let firstRestartDelayMillis: Int64 = 100
    static let maxRestartDelayMillis: Int64 = 60_000
    static let resetAfterUpNanos: Int64 = 10_000_000_000

    /// Whether the policy restarts a container that just exited.
    static func shouldRestart(_ r: ContainerRecord) -> Bool {
        guard !r.manuallyStopped, let p = r.hostConfig.restartPolicy else { return false }
        switch p.name {
        case "always", "unless-stopped": return true
        case "on-failure": return r.state.exitCode != 0 && (p.maximumRetryCount == 0 || r.restartCount < p.maximumRetryCount)
        default: return false
        }
    }

    func scheduleRestartIfDue(_ entry: ContainerEntry) {
        let delay: Int64? = entry.locked { g in
            var r = g.record
            guard Self.shouldRestart(r), !g.removed else { return nil }
            let up = r.state.finishedAt - r.state.startedAt
            let d = (up >= Self.resetAfterUpNanos || r.restartDelayMillis == 0)
                ? Self.firstRestartDelayMillis : min(r.restartDelayMillis * 2, Self.maxRestartDelayMillis)
            r.restartDelayMillis = d
            r.state.status = .restarting
            g.record = r
            persist(r)
            return d
        }
        guard let delay else { return }
        Thread.detach { [self] in
            usleep(useconds_t(delay * 1000))
            let failed: Bool = entry.locked { g in
                // A stop, a start or a removal during the delay cancels it.
                guard !g.removed, g.record.state.status == .restarting else { return false }
                g.record.restartCount += 1
                do {
                    try startTask(g)
                    emit("restart", g.record)
                    return false
                } catch {
                    logger.warn("restart of container \(g.record.shortID) failed: \(error)")
                    return true
                }
            }
            // A failed start counts as an exit: the policy decides again, with a longer delay.
            if failed { scheduleRestartIfDue(entry) }
        }
    }
}
