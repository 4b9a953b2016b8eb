import FoundationEssentials

/// A snapshotter keeps filesystem trees as a chain of snapshots, the way
/// containerd's snapshots.Snapshotter does (its documentation is the reference
/// for the semantics; this is a Swift rendering of that contract).
///
/// Lifecycle:
/// - `prepare(key, parent:)` makes an *active* snapshot: a writable tree that starts
///   as the content of `parent` (or empty) and is reached through the returned mounts.
///   Unpacking a layer = prepare on the previous layer's chain ID, apply the layer
///   through the mounts, then `commit(chainID, key:)`.
/// - `view(key, parent:)` is the same but read-only; a view can never be committed.
/// - `commit(name, key:)` turns an active snapshot into a *committed* one named
///   `name`; the key `key` is gone afterwards. Committed snapshots are immutable:
///   they cannot be mounted themselves, only used as parents.
/// - `remove(key)` deletes a snapshot of any kind, refused while others have it
///   as their parent (remove children first).
/// - Parents must be committed. Keys and names share one namespace per snapshotter.
///
/// Snapshots persist across restarts (records in the metadata database, trees on
/// disk). Implementations are safe to call from several threads.
public protocol Snapshotter: Sendable {
    /// "overlayfs" or "native"; the name records and directories are kept under.
    var name: String { get }

    /// An active (writable) snapshot on top of committed `parent`; how to mount it.
    func prepare(_ key: String, parent: String?, labels: [String: String]) throws -> [Mount]
    /// A read-only snapshot of committed `parent`; how to mount it.
    func view(_ key: String, parent: String?, labels: [String: String]) throws -> [Mount]
    /// The mounts of an active snapshot or a view (committed ones have none).
    func mounts(_ key: String) throws -> [Mount]
    /// Active `key` becomes committed `name`; `labels` are added to its labels.
    func commit(_ name: String, key: String, labels: [String: String]) throws
    /// Removes a snapshot that no other snapshot has as parent.
    func remove(_ key: String) throws
    func stat(_ key: String) throws -> SnapshotInfo
    /// Replaces the labels of a snapshot.
    @discardableResult
    func update(_ key: String, labels: [String: String]) throws -> SnapshotInfo
    /// Space used by the snapshot itself (not its parents): for a committed
    /// snapshot as measured when it was committed, for others measured now.
    func usage(_ key: String) throws -> SnapshotUsage
    /// Every snapshot, parents before children (in creation order).
    func walk(_ body: (SnapshotInfo) throws -> Void) throws

    /// Where a layer applied to active snapshot `key` is written without mounting
    /// it: the overlay upper directory (apply whiteouts as overlay whiteouts), or
    /// the copied tree of the copying snapshotter (apply whiteouts by deleting);
    /// see `appliesWhiteoutsByDeleting`.
    func upperDirectory(_ key: String) throws -> String
    /// The trees of the snapshot's parents, nearest first (for an unpacker that
    /// needs to look at what lies below).
    func lowerDirectories(_ key: String) throws -> [String]
    /// False for overlayfs (whiteouts are device nodes and opaque xattrs that the
    /// kernel interprets); true for the copying snapshotter.
    var appliesWhiteoutsByDeleting: Bool { get }
}

extension Snapshotter {
    public func prepare(_ key: String, parent: String? = nil) throws -> [Mount] {
        try prepare(key, parent: parent, labels: [:])
    }

    public func view(_ key: String, parent: String? = nil) throws -> [Mount] {
        try view(key, parent: parent, labels: [:])
    }

    public func commit(_ name: String, key: String) throws {
        try commit(name, key: key, labels: [:])
    }

    /// All snapshots, as `walk` visits them.
    public func list() throws -> [SnapshotInfo] {
        var all: [SnapshotInfo] = []
        try walk { all.append($0) }
        return all
    }

    /// True when a snapshot with that key exists.
    public func exists(_ key: String) throws -> Bool {
        do {
            _ = try stat(key)
            return true
        } catch let e as SnapshotError where e.code == .notFound {
            return false
        }
    }
}

public enum SnapshotKind: String, Sendable, Codable {
    case active, view, committed
}

public struct SnapshotInfo: Sendable, Hashable, Codable {
    /// The key (active, view) or the name (committed).
    public var name: String
    public var kind: SnapshotKind
    public var parent: String?
    public var labels: [String: String]
    public var created: Date
    public var updated: Date
}

public struct SnapshotUsage: Sendable, Hashable, Codable {
    /// Bytes allocated on disk (du), each hardlinked inode once.
    public var size: Int64
    public var inodes: Int64

    public init(size: Int64, inodes: Int64) {
        self.size = size
        self.inodes = inodes
    }
}
