import Glibc
import Metadata

/// Snapshots as overlayfs layers: `ROOT/snapshots/overlayfs/<n>/fs` holds what the
/// snapshot itself adds (an unpacked layer, a container's changes), `<n>/work` is
/// overlayfs's scratch directory. A snapshot's tree is its `fs` over its parents'.
///
/// Mounts, as containerd's overlayfs snapshotter gives them:
/// - active without parent: a read-write bind of `fs`;
/// - active with parents: overlay, upperdir=`fs`, workdir=`work`, lowerdir=parents
///   nearest first;
/// - view with one parent (or none): a read-only bind of that one `fs` — overlayfs
///   refuses a mount with a single lower layer and no upper on older kernels;
/// - view with several parents: overlay with only lowerdirs (read-only by nature).
public final class OverlaySnapshotter: Snapshotter {
    public let name = "overlayfs"
    let store: SnapshotStore
    /// "index=off" when the kernel has the index feature: with it on, a lower layer
    /// shared by two mounted overlays can be refused as "in use".
    private let extraOptions: [String]

    /// Opens (creating when missing) the snapshotter under `root`/snapshots/overlayfs
    /// with its records in `database`.
    public init(root: String, database: Database) throws {
        store = try SnapshotStore(database: database, snapshotter: "overlayfs", directory: root + "/snapshots/overlayfs")
        extraOptions = access("/sys/module/overlay/parameters/index", F_OK) == 0 ? ["index=off"] : []
    }

    /// True when overlayfs works with upper directories on the filesystem holding
    /// `root` (not on every filesystem: overlay on overlay, NFS or some FUSE fail).
    /// Tries a real mount in a scratch directory there.
    public static func isSupported(root: String) -> Bool {
        let base = root + "/snapshots"
        guard (try? FileTree.makeDirectories(base, mode: 0o700)) != nil,
              let scratch = try? FileTree.makeTemporaryDirectory(in: base, prefix: "overlay-check-") else { return false }
        defer { try? FileTree.remove(scratch) }
        for d in ["lower", "upper", "work", "merged"] where mkdir(scratch + "/" + d, 0o700) != 0 { return false }
        let m = Mount(type: "overlay", source: "overlay",
                      options: ["lowerdir=\(scratch)/lower", "upperdir=\(scratch)/upper", "workdir=\(scratch)/work"])
        guard (try? m.mount(at: scratch + "/merged")) != nil else { return false }
        try? Mount.unmount(scratch + "/merged", detach: true)
        return true
    }

    public func prepare(_ key: String, parent: String?, labels: [String: String]) throws -> [Mount] {
        let (record, parents) = try store.create(.active, key: key, parent: parent, labels: labels) { dir, parents in
            try makeLayerDirectories(dir, parents: parents, work: true)
        }
        return mounts(record, parents: parents)
    }

    public func view(_ key: String, parent: String?, labels: [String: String]) throws -> [Mount] {
        let (record, parents) = try store.create(.view, key: key, parent: parent, labels: labels) { dir, parents in
            try makeLayerDirectories(dir, parents: parents, work: false)
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
        try store.commit(name, key: key, labels: labels) { try FileTree.usage(upper($0.id)) }
    }

    public func remove(_ key: String) throws { try store.remove(key) }

    public func stat(_ key: String) throws -> SnapshotInfo { try store.stat(key) }

    public func update(_ key: String, labels: [String: String]) throws -> SnapshotInfo {
        try store.update(key, labels: labels)
    }

    public func usage(_ key: String) throws -> SnapshotUsage {
        let record = try store.get(key)
        if let recorded = record.usage { return recorded }
        return try FileTree.usage(upper(record.id))
    }

    public func walk(_ body: (SnapshotInfo) throws -> Void) throws {
        for info in try store.all() { try body(info) }
    }

    public var appliesWhiteoutsByDeleting: Bool { false }

    public func upperDirectory(_ key: String) throws -> String {
        let record = try store.get(key)
        guard record.kind == .active else {
            throw SnapshotError(.failedPrecondition, "snapshot \(key) is \(record.kind.rawValue), not active")
        }
        return upper(record.id)
    }

    public func lowerDirectories(_ key: String) throws -> [String] {
        try store.parents(of: try store.get(key)).map(upper)
    }

    // MARK: -

    private func upper(_ id: Int64) -> String { store.path(id) + "/fs" }

    /// `fs` (and `work` for active snapshots). `fs` takes the owner and mode of the
    /// parent's `fs`: the upper directory is the root directory of the merged tree.
    private func makeLayerDirectories(_ dir: String, parents: [Int64], work: Bool) throws {
        guard chmod(dir, 0o711) == 0 else { throw SnapshotError.errno("chmod \(dir)") }
        let fs = dir + "/fs"
        guard mkdir(fs, 0o755) == 0 else { throw SnapshotError.errno("create \(fs)") }
        if work, mkdir(dir + "/work", 0o711) != 0 { throw SnapshotError.errno("create \(dir)/work") }
        if let parent = parents.first {
            var st = Glibc.stat()
            guard fstatat(AT_FDCWD, upper(parent), &st, 0) == 0 else { throw SnapshotError.errno("stat \(upper(parent))") }
            guard chown(fs, st.st_uid, st.st_gid) == 0, chmod(fs, st.st_mode & 0o7777) == 0 else {
                throw SnapshotError.errno("set owner and mode of \(fs)")
            }
        }
    }

    private func mounts(_ record: SnapshotStore.Record, parents: [Int64]) -> [Mount] {
        if record.kind == .view {
            if parents.count <= 1 {
                let source = parents.first.map(upper) ?? upper(record.id)
                return [Mount(type: "bind", source: source, options: ["ro", "rbind"])]
            }
            return [Mount(type: "overlay", source: "overlay",
                          options: extraOptions + ["lowerdir=" + parents.map(upper).joined(separator: ":")])]
        }
        if parents.isEmpty {
            return [Mount(type: "bind", source: upper(record.id), options: ["rw", "rbind"])]
        }
        return [Mount(type: "overlay", source: "overlay", options: extraOptions + [
            "workdir=" + store.path(record.id) + "/work",
            "upperdir=" + upper(record.id),
            "lowerdir=" + parents.map(upper).joined(separator: ":"),
        ])]
    }
}
