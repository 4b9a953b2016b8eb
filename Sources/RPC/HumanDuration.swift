/// Durations as Docker prints them (docker/go-units HumanDuration): "Less than
/// a second", "About a minute", "2 hours", "3 weeks"; `ago` gives the
/// CREATED column's "2 hours ago".
public enum HumanDuration {
    public static func format(seconds d: Double) -> String {
        let seconds = Int(d)
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = Int(d / 60)
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        // Go's Duration.Round(time.Hour): halves round away from zero.
        let hours = Int((d / 3600).rounded(.toNearestOrAwayFromZero))
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(Int(d / 3600) / 24 / 365) years"
    }

    /// "2 hours ago": the time from `then` to `now`, both in seconds since the epoch.
    public static func ago(_ then: Double, now: Double) -> String { format(seconds: now - then) + " ago" }
}
