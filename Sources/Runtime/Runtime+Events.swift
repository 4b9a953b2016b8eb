import CgroupEvents
import CBerth
import Glibc
import OCI

extension Runtime {
    /// events(8): with `stats`, one `{"type":"stats","id":…,"data":{…}}` line, as
    /// runc prints it. Otherwise a stats line every `interval` (Go duration
    /// syntax: "5s", "100ms") and an `{"type":"oom","id":…}` line at each OOM,
    /// until the container stops.
    ///
    /// Single-threaded, one poll(2) does what runc's goroutines do: it waits
    /// for the next tick, the OOM notification (Cgroup.oomWatch: an eventfd on
    /// v1, inotify on memory.events on v2) and the init's pidfd (the container
    /// stopped). Without a notification fd (a host that refuses the eventfd),
    /// the OOM kill counter is compared at every tick instead.
    public func events(id: String, statsOnly: Bool, interval: String, emit: (String) -> Void) throws(RuntimeError) {
        let nanos = try Runtime.parseGoDuration(interval)
        guard nanos > 0 else { throw RuntimeError("duration interval must be greater than 0") }
        let s = try load(id)
        guard status(s) != .stopped else { throw RuntimeError("container with id \(id) is not running") }
        guard let cg = cgroup(of: s) else { throw RuntimeError("container \(id) has no cgroup") }
        func event(_ type: String, _ data: JSONValue? = nil) -> String {
            var pairs: [(String, JSONValue)] = [("type", .string(type)), ("id", .string(id))]
            if let data { pairs.append(("data", data)) }
            return JSONWriter.write(.object(pairs))
        }
        if statsOnly {
            emit(event("stats", cg.stats().json))
            return
        }

        let watch = cg.oomWatch()
        var kills = cg.oomKillCount()
        func reportOOM() {
            if let watch {
                for _ in 0..<min(watch.drain(), 1000) { emit(event("oom")) }
            } else {
                let now = cg.oomKillCount()
                for _ in 0..<min(now > kills ? now - kills : 0, 1000) { emit(event("oom")) }
                kills = now
            }
        }
        let pidfd = cb_pidfd_open(s.pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        let step = max(1, (nanos + 999_999) / 1_000_000)
        var next = Clock.monotonicMillis() + step
        while true {
            let left = next - Clock.monotonicMillis()
            if left > 0 {
                let ready = max(0, cb_poll2(watch?.fd ?? -1, pidfd, Int32(min(left, Int64(Int32.max)))))
                if ready & 1 != 0 { reportOOM() }
                if ready & 2 != 0 {
                    // The init is gone: an OOM kill that ended it is reported before we stop.
                    if let watch, cb_poll2(watch.fd, -1, 0) > 0 { reportOOM() }
                    if watch == nil { reportOOM() }
                    return
                }
                continue
            }
            if watch == nil { reportOOM() }
            if status(s) == .stopped { return }
            emit(event("stats", cg.stats().json))
            next += step
            if next <= Clock.monotonicMillis() { next = Clock.monotonicMillis() + step }
        }
    }

    /// Go's time.ParseDuration, as runc's --interval reads it: "300ms", "1.5s",
    /// "1m30s"; units ns, us (µs), ms, s, m, h; "0" alone is zero. Nanoseconds.
    static func parseGoDuration(_ text: String) throws(RuntimeError) -> Int64 {
        let bad = RuntimeError("invalid value \(text.debugDescription) for flag -interval: time: invalid duration \(text.debugDescription)")
        var rest = Substring(text)
        var negative = false
        if rest.first == "-" || rest.first == "+" { negative = rest.first == "-"; rest = rest.dropFirst() }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { throw bad }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6),
                                         ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var total: Double = 0
        while !rest.isEmpty {
            var number = ""
            while let c = rest.first, c.isASCII, c.isNumber || c == "." { number.append(c); rest = rest.dropFirst() }
            guard !number.isEmpty, number != ".", let value = Double(number.hasPrefix(".") ? "0" + number : number) else { throw bad }
            // The longest unit that matches ("ms" before "m").
            guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { throw bad }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        guard total < 9.2e18 else { throw bad }
        return Int64(negative ? -total : total)
    }
}
