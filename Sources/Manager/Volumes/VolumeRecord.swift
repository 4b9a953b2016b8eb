import FoundationEssentials

/// One volume as berthd keeps it (its data lives in `<root>/volumes/NAME/_data`).
public struct VolumeRecord: Codable, Sendable, Equatable {
    public var name: String
    /// Unix seconds.
    public var createdAt: Int64
    public var labels: [String: String]?
    /// The local driver's options: `type`, `device`, `o`.
    public var options: [String: String]?
    /// The image's content was copied into it once (copy-up happens only into a
    /// volume that is empty and was never filled that way).
    public var copiedUp: Bool?

    /// Docker 23+ marks the volumes it makes for `-v /path` and image VOLUMEs with
    /// this label; `volume prune` without `all` removes only those.
    public static let anonymousLabel = "com.docker.volume.anonymous"

    public var isAnonymous: Bool { labels?[Self.anonymousLabel] != nil }

    /// The volume has to be mounted on `_data` while a container uses it (tmpfs, a
    /// bind of another directory, a device).
    public var mountsOnUse: Bool { !(options ?? [:]).isEmpty }
}
