import Content
import Glibc
import Snapshots

/// One layer on its way into a snapshotter, the way containerd's unpacker does it:
/// an active snapshot `extract-<random>-<chainID>` on the parent chain, the layer
/// written into its upper directory, then committed under the chain ID.
///
///     if let layer = try PendingLayer.begin(chainID: c, parent: p, diffID: d, on: snapshotter) {
///         do {
///             let stream = try LayerUnpackStream(into: layer.directory, options: layer.options)
///             … stream.write(chunk) …
///             _ = try stream.finish()
///             try layer.commit()
///         } catch {
///             layer.abort()
///             throw error
///         }
///     }   // nil: the chain ID is committed already (shared with another image), nothing to fetch
///
/// Two pulls of the same layer at once both unpack it; the second commit finds
/// the chain ID taken and quietly drops its own copy.
public struct PendingLayer: Sendable {
    public let snapshotter: any Snapshotter
    /// The key of the active extraction snapshot.
    public let key: String
    public let chainID: String
    /// Where to unpack: the snapshot's upper directory.
    public let directory: String
    /// Whiteout mode for this snapshotter, the expected diffID and the lower directories.
    public let options: UnpackOptions

    public static let keyPrefix = "extract-"

    /// Starts a layer: nil when `chainID` is already committed.
    public static func begin(chainID: String, parent: String?, diffID: Digest?, on snapshotter: any Snapshotter,
                             labels: [String: String] = [:]) throws -> PendingLayer? {
        if try snapshotter.exists(chainID) { return nil }
        let key = keyPrefix + String(UInt64.random(in: 0...UInt64.max), radix: 16) + "-" + chainID
        _ = try snapshotter.prepare(key, parent: parent, labels: labels)
        do {
            let options = UnpackOptions(whiteouts: snapshotter.appliesWhiteoutsByDeleting ? .delete : .overlay,
                                        expectedDiffID: diffID, lowerDirectories: try snapshotter.lowerDirectories(key))
            return PendingLayer(snapshotter: snapshotter, key: key, chainID: chainID,
                                directory: try snapshotter.upperDirectory(key), options: options)
        } catch {
            try? snapshotter.remove(key)
            throw error
        }
    }

    /// Commits the layer as its chain ID (labels added). When another pull
    /// committed the same chain ID meanwhile, this copy is removed instead.
    public func commit(labels: [String: String] = [:]) throws {
        do {
            try snapshotter.commit(chainID, key: key, labels: labels)
        } catch let e as SnapshotError where e.code == .alreadyExists {
            try snapshotter.remove(key)
        }
    }

    /// Removes the extraction snapshot (after a failed or cancelled unpack).
    public func abort() {
        try? snapshotter.remove(key)
    }

    /// Removes extraction snapshots left active by an interrupted run; call at start-up.
    @discardableResult
    public static func removeStale(on snapshotter: any Snapshotter) throws -> Int {
        var stale: [String] = []
        try snapshotter.walk { info in
            if info.kind == .active && info.name.hasPrefix(keyPrefix) { stale.append(info.name) }
        }
        for key in stale { try snapshotter.remove(key) }
        return stale.count
    }
}

extension LayerUnpacker {
    /// Unpacks the layer in `file` as chain ID `chainID` on top of `parent`;
    /// false when that chain ID existed already (the file is not read).
    @discardableResult
    public static func apply(file: String, chainID: String, parent: String?, diffID: Digest?, on snapshotter: any Snapshotter) throws -> Bool {
        guard let layer = try PendingLayer.begin(chainID: chainID, parent: parent, diffID: diffID, on: snapshotter) else { return false }
        do {
            _ = try apply(file: file, to: layer.directory, options: layer.options)
            try layer.commit()
            return true
        } catch {
            layer.abort()
            throw error
        }
    }
}
