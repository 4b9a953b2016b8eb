import Glibc
import Metadata

/// The copying fallback for filesystems where overlayfs does not work:
/// `ROOT/snapshots/native/<n>` is the complete tree of snapshot n. Preparing on a
/// parent copies the parent's whole tree (owners, modes, xattrs, times, hardlinks,
/// device nodes kept); layers applied to it delete whiteout-ed paths instead of
/// marking them (Unpack's `.delete` whiteout mode). Mounts are binds: read-write
/// for active snapshots, read-only for views. A view does not copy: committed
/// trees never change, so a read-only bind of the parent shows the same thing.
public final class NativeSnapshotter: Snapshotter {
    public let name = "native"
    let store: SnapshotStore

    public init(root: String, database: Database) throws {
        store = try SnapshotStore(database: database, snapshotter: "native", directory: root + "/snapshots/native")
    }

    public func prepare(_ key: String, parent: String?, labels: [String: String]) throws -> [Mount] {
        let (record, parents) = try store.create(.active, key: key, parent: parent, labels: labels) { dir, parents in
            if let p = parents.first {
                try TreeCopy.copy(from: store.path(p), to: dir)
            } else if chmod(dir, 0o755) != 0 {
                throw SnapshotError.errno("chmod \(dir)")
            }
        }
        return mounts(record, parents: parents)
    }

    public func view(_ key: String, parent: String?, labels: [String: String]) throws -> [Mount] {
        let (record, parents) = try store.create(.view, key: key, parent: parent, labels: labels) { dir, _ in
            if chmod(dir, 0o755) != 0 { throw SnapshotError.errno("chmod \(dir)") }
        }
        return mounts(record, parents: parents)
    }

    public func mounts(_ key: String) throws -> [Mount] {
        let record = try store.get(key)
        guard record.kind != .committed else {
            throw SnapshotError(.failedPrecondition, "snapshot \(key) is committed; mount a view or an active snapshot on top of it")
        }
        return mounts(record, parents: try store.parents(of: record))
    }

    public func commit(_ name: String, key: String, labels: [String: String]) throws {
        try store.commit(name, key: key, labels: labels) { try FileTree.usage(store.path($0.id)) }
    }

    public func remove(_ key: String) throws { try store.remove(key) }

    public func stat(_ key: String) throws -> SnapshotInfo { try store.stat(key) }

    public func update(_ key: String, labels: [String: String]) throws -> SnapshotInfo {
        try store.update(key, labels: labels)
    }

    public func usage(_ key: String) throws -> SnapshotUsage {
        let record = try store.get(key)
        if let recorded = record.usage { return recorded }
        return try FileTree.usage(store.path(record.id))
    }

    public func walk(_ body: (SnapshotInfo) throws -> Void) throws {
        for info in try store.all() { try body(info) }
    }

    public var appliesWhiteoutsByDeleting: Bool { true }

    public func upperDirectory(_ key: String) throws -> String {
        let record = try store.get(key)
        guard record.kind == .active else {
            throw SnapshotError(.failedPrecondition, "snapshot \(key) is \(record.kind.rawValue), not active")
        }
        return store.path(record.id)
    }

    public func lowerDirectories(_ key: String) throws -> [String] {
        try store.parents(of: try store.get(key)).map(store.path)
    }

    private func mounts(_ record: SnapshotStore.Record, parents: [Int64]) -> [Mount] {
        if record.kind == .view {
            return [Mount(type: "bind", source: store.path(parents.first ?? record.id), options: ["ro", "rbind"])]
        }
        return [Mount(type: "bind", source: store.path(record.id), options: ["rw", "rbind"])]
    }
}
