import Glibc
import RPC
import Snapshots

extension ContainerService {
    /// `rm`: refused while running unless forced (then killed first); the
    /// writable snapshot, the log and the record go.
    func remove(_ entry: ContainerEntry, force: Bool, volumes: Bool) throws {
        // Anonymous volumes go after the container's mutex is released (the volume lock is never taken under it).
        var removedMounts: [ContainerMount] = []
        defer { if volumes { removeAnonymousVolumes(removedMounts) } }
        try entry.locked { g in
            if g.removed { return }
            if g.record.state.hasTask || g.record.state.status == .restarting {
                guard force else {
                    let verb = g.record.state.status == .paused ? "paused" : g.record.state.status == .restarting ? "restarting" : "running"
                    throw BerthError(.conflict, "cannot remove container \"/\(g.record.name)\": container is \(verb): stop the container before removing or force remove")
                }
                g.record.manuallyStopped = true
                if let task = g.task {
                    let before = g.exits
                    if let c = try? shimClient(task) {
                        _ = try? c.kill(signal: 9, all: true)
                        if g.record.state.status == .paused { _ = try? c.resume() }
                    }
                    if !g.wait(timeoutMillis: 30_000, until: { g.exits > before || g.task == nil }) {
                        throw BerthError(.internal, "container \(entry.id) did not exit 30 s after SIGKILL")
                    }
                }
            }
            var r = g.record
            r.state.status = .removing
            g.record = r
            var times = StepTimes()
            defer { logger.debug("container removed", ["id": r.shortID, "steps": times.text]) }
            // Anything but "already gone" leaves the container for a second try.
            if let error = removeLayers(r) {
                r.state.status = .dead
                g.record = r
                persist(r)
                throw BerthError(.internal, "cannot remove the filesystem of container \(r.shortID): \(error)")
            }
            times.mark("snapshots")
            Self.removeTree(persistentDirectory(r.id))
            times.mark("files")
            try store.delete(r.id)
            times.mark("record")
            g.removed = true
            removedMounts = r.mounts ?? []
            drop(r.id, name: r.name)
            emit("destroy", r)
        }
    }

    /// The container's writable layer and its init layer; the error when the
    /// writable layer is still there afterwards (already gone is fine).
    @discardableResult
    func removeLayers(_ r: ContainerRecord) -> (any Error)? {
        do { try images.snapshotter.remove(r.snapshotKey) } catch {
            if (try? images.snapshotter.exists(r.snapshotKey)) == true { return error }
        }
        if r.snapshotParent == Self.initLayerName(r.id) { try? images.snapshotter.remove(Self.initLayerName(r.id)) }
        return nil
    }

    func rename(_ entry: ContainerEntry, to newName: String) throws {
        let name = try ContainerNames.validate(newName)
        if let other = nameTaken(name) {
            if other.id == entry.id { throw BerthError(.invalidArgument, "Renaming a container with the same name as its current name") }
            throw BerthError(.conflict, "Error when allocating new name: Conflict. The container name \"/\(name)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name.")
        }
        try entry.locked { g in
            let old = g.record.name
            g.record.name = name
            do { try store.update(g.record) } catch {
                g.record.name = old
                throw BerthError(.conflict, "Error when allocating new name: Conflict. The container name \"/\(name)\" is already in use.")
            }
            renamed(entry.id, from: old, to: name)
            emit("rename", g.record, ["oldName": "/" + old])
            // The name is a DNS name on its networks.
            if g.record.state.hasTask { networking.namesChanged((g.record.networks ?? []).map(\.networkID)) }
        }
    }
}
