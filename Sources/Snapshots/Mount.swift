/// A mount as containerd describes one: what `mount -t type -o options source target`
/// would do. Snapshotters return them instead of mounting, so the caller decides
/// where (a container's rootfs, a temporary directory to unpack into).
public struct Mount: Sendable, Hashable, Codable, CustomStringConvertible {
    /// "overlay" or "bind".
    public var type: String
    public var source: String
    /// Where it goes; nil in a snapshotter's answer (the caller chooses).
    public var target: String?
    /// mount(8)-style options: flags (ro, rbind, nosuid…) and data (lowerdir=…).
    public var options: [String]

    public init(type: String, source: String, target: String? = nil, options: [String]) {
        self.type = type
        self.source = source
        self.target = target
        self.options = options
    }

    public var description: String {
        "mount -t \(type) -o \(options.joined(separator: ",")) \(source)" + (target.map { " " + $0 } ?? "")
    }

    /// True when the mount is read-only.
    public var isReadOnly: Bool { options.contains("ro") }
}
