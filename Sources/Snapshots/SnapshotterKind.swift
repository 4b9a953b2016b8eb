import Metadata

/// Which snapshotter berthd uses, and how layers must be applied for it.
public enum SnapshotterKind: String, Sendable, CaseIterable {
    case overlayfs, native

    /// Opens the snapshotter of this kind under `root`.
    public func open(root: String, database: Database) throws -> any Snapshotter {
        switch self {
        case .overlayfs: return try OverlaySnapshotter(root: root, database: database)
        case .native: return try NativeSnapshotter(root: root, database: database)
        }
    }

    /// overlayfs when it works on `root`'s filesystem, otherwise the copying one.
    public static func preferred(root: String) -> SnapshotterKind {
        OverlaySnapshotter.isSupported(root: root) ? .overlayfs : .native
    }
}
