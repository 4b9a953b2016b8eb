import Glibc

/// Timestamps in RFC 3339 with nanoseconds, UTC, as runc writes them in state
/// ("created") and log lines ("time"); shared by the runtime and the shim.
public enum Clock {
    public static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    public static func rfc3339(_ ts: timespec = now(), nanos: Bool = true) -> String {
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var s = "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
        s += "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))"
        if nanos {
            // Go's RFC3339Nano trims trailing zeros; so do we.
            var frac = pad(Int32(ts.tv_nsec), 9)
            while frac.hasSuffix("0") { frac.removeLast() }
            if !frac.isEmpty { s += "." + frac }
        }
        return s + "Z"
    }

    public static func monotonicMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
