import Content

/// One image as berthd records it, containerd's way: a name pointing at a
/// target (a manifest or an index in the content store). Docker's view (image
/// id = the config digest of the host platform's manifest, dangling images)
/// is kept beside it: `configDigest` is resolved at pull/load time, and an
/// image whose name was taken by a newer pull stays as a dangling record
/// (`name` nil, Docker's `<none>:<none>`) until it is removed or pruned.
public struct ImageRecord: Sendable, Equatable {
    /// A normalized reference (docker.io/library/busybox:latest, or NAME@sha256:…
    /// when pulled by digest); nil for a dangling image.
    public var name: String?
    public var target: Descriptor
    /// The image id: the config digest of the platform manifest chosen for this host.
    public var configDigest: Digest
    /// Unix nanoseconds.
    public var createdAt: Int64
    public var updatedAt: Int64
    public var labels: [String: String]

    /// Label recording where a name came from: "registry" (pull, push) or absent (tag, load, import).
    public static let sourceLabel = "berth.source"

    public init(name: String?, target: Descriptor, configDigest: Digest, createdAt: Int64, updatedAt: Int64,
                labels: [String: String] = [:]) {
        self.name = name
        self.target = target
        self.configDigest = configDigest
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.labels = labels
    }
}
