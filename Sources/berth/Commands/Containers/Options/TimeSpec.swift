import Glibc

/// `--since` / `--until` of logs and events, as Docker's GetTimestamp reads
/// them: a Go duration ("10m", "2h30m", "1.5h") counts back from now; a date
/// or RFC 3339 time ("2024-01-02", "2024-01-02T15:04", "2024-01-02T15:04:05.5Z",
/// with a zone or in local time); or unix seconds ("1700000000.5"). The
/// result is what berthd takes: unix seconds with nine decimals.
enum TimeSpec {
    static func timestamp(_ value: String, now: Double) throws(OptionError) -> String {
        if value != "0", let d = goDuration(value) {
            return format(now - d)
        }
        if let t = date(value) { return format(t) }
        if value.contains("-") { throw OptionError("parsing time \"\(value)\": cannot parse as a date") }
        guard unixSeconds(value) else { throw OptionError("failed to parse value as time or duration: \"\(value)\"") }
        return value
    }

    static func timestamp(_ value: String) throws(OptionError) -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return try timestamp(value, now: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
    }

    /// "1700000000.123456789" (seconds, then nanoseconds).
    static func format(_ t: Double) -> String {
        var sec = t.rounded(.down)
        var nanos = ((t - sec) * 1e9).rounded()
        if nanos >= 1e9 { sec += 1; nanos -= 1e9 }
        let n = String(Int64(nanos))
        return "\(Int64(sec)).\(String(repeating: "0", count: 9 - n.count))\(n)"
    }

    /// Go's time.ParseDuration, in seconds: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or "0".
    static func goDuration(_ s: String) -> Double? {
        var rest = Substring(s)
        var sign = 1.0
        if let c = rest.first, c == "-" || c == "+" { sign = c == "-" ? -1 : 1; rest.removeFirst() }
        if rest == "0" { return 0 }
        if rest.isEmpty { return nil }
        var total = 0.0
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        while !rest.isEmpty {
            var num = ""
            while let c = rest.first, c.isASCII, c.isNumber || c == "." { num.append(c); rest.removeFirst() }
            guard !num.isEmpty, num != ".", num.filter({ $0 == "." }).count <= 1, let v = Double(num) else { return nil }
            var unit = ""
            while let c = rest.first, !(c.isASCII && (c.isNumber || c == ".")) { unit.append(c); rest.removeFirst() }
            guard let u = units.first(where: { $0.0 == unit }) else { return nil }
            total += v * u.1
        }
        return sign * total
    }

    /// Unix seconds with an optional fraction of up to nine digits.
    static func unixSeconds(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty, Int64(parts[0]) != nil else { return false }
        if parts.count == 2 { return !parts[1].isEmpty && parts[1].count <= 9 && parts[1].allSatisfy { $0.isASCII && $0.isNumber } }
        return true
    }

    /// A date, optionally with a time (hours, minutes, seconds, fraction)
    /// and a zone ("Z", "+01:00"); without a zone it is local time. Unix seconds.
    static func date(_ s: String) -> Double? {
        var rest = Substring(s)
        func digits(_ n: Int) -> Int? {
            guard rest.count >= n else { return nil }
            let d = rest.prefix(n)
            guard d.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            rest = rest.dropFirst(n)
            return Int(d)
        }
        func expect(_ c: Character) -> Bool {
            guard rest.first == c else { return false }
            rest.removeFirst()
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0, fraction = 0.0
        if expect("T") {
            guard let h = digits(2), h < 24 else { return nil }
            hour = h
            if expect(":") {
                guard let m = digits(2), m < 60 else { return nil }
                minute = m
                if expect(":") {
                    guard let sec = digits(2), sec < 61 else { return nil }
                    second = sec
                    if expect(".") {
                        var f = ""
                        while let c = rest.first, c.isASCII, c.isNumber { f.append(c); rest.removeFirst() }
                        guard !f.isEmpty, let v = Double("0." + f) else { return nil }
                        fraction = v
                    }
                }
            }
        }
        var offset: Int?
        if rest == "Z" || rest == "z" {
            offset = 0
            rest = ""
        } else if let c = rest.first, c == "+" || c == "-" {
            rest.removeFirst()
            guard let oh = digits(2), expect(":"), let om = digits(2) else { return nil }
            offset = (c == "-" ? -1 : 1) * (oh * 3600 + om * 60)
        }
        guard rest.isEmpty else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = Int32(year - 1900); tm.tm_mon = Int32(month - 1); tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(hour); tm.tm_min = Int32(minute); tm.tm_sec = Int32(second)
        let seconds: Int
        if let offset {
            seconds = timegm(&tm) - offset
        } else {
            tm.tm_isdst = -1
            seconds = mktime(&tm)
        }
        return Double(seconds) + fraction
    }
}
