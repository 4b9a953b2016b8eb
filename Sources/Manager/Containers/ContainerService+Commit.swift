import CArchive
import ContainerSpec
import Content
import Glibc
import OCI
import RPC
import Snapshots

/// `commit`: a container's writable layer becomes a new image on top of its image.
///
/// | step | what |
/// | --- | --- |
/// | 1 | pause the task (unless `pause` is false) while the layer is read |
/// | 2 | the layer as a tar with OCI whiteouts (overlay: the upper directory, `.wh.NAME` for a 0/0 device, `.wh..wh..opq` for an opaque directory; native: the tree compared with its parent's), gzip-compressed, its diffID hashed on the way |
/// | 3 | the blob into the content store, under a lease |
/// | 4 | the config: the image's, with the container's Config and the `changes` (Dockerfile instructions) over it, a history entry, the new diffID |
/// | 5 | the manifest (the image's layers and the new one), the new layer unpacked into its chain-ID snapshot |
/// | 6 | the image record: `reference`, or dangling |
///
/// A failed commit leaves nothing: the lease goes and what it stored is collected.
extension ContainerService {
    func commit(_ entry: ContainerEntry, _ p: BerthAPI.ContainerCommitParams) throws -> BerthAPI.ContainerCommitResult {
        do { return try commitLayer(entry, p) } catch {
            _ = try? images.collectGarbage()
            throw error
        }
    }

    private func commitLayer(_ entry: ContainerEntry, _ p: BerthAPI.ContainerCommitParams) throws -> BerthAPI.ContainerCommitResult {
        let reference = try p.reference.flatMap { $0.isEmpty ? nil : $0 }.map { name -> String in
            let ref = try images.parse(name)
            guard ref.digest == nil else { throw BerthError(.invalidArgument, "invalid reference format: a commit cannot name a digest") }
            return name
        }
        var changed = ImageConfig.Config()
        for change in p.changes ?? [] { try ImageService.apply(change: change, to: &changed) }  // refused before any work

        // The container's image: its manifest and config.
        let r0 = entry.record
        guard let imageID = Digest(r0.imageID), let imageRecord = try images.images.withConfig(imageID).first else {
            throw BerthError(.notFound, "No such image: \(r0.imageID) (the image of container \(r0.shortID))")
        }
        let (manifestDesc, manifest) = try images.platformManifest(imageRecord.target, config: imageID)
        _ = manifestDesc
        let base = try images.config(of: manifest)

        let now = Self.now()
        let lease = "commit-" + r0.shortID + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try images.leases.create(id: lease, now: now, ttlNanos: 3600 * 1_000_000_000)
        defer { try? images.leases.delete(lease) }

        // 1–2: the layer, with the task paused while it is read.
        var paused = false
        if p.pause ?? true, r0.state.status == .running {
            do { try pause(entry); paused = true } catch { logger.warn("commit: cannot pause container \(r0.shortID): \(error)") }
        }
        let layer: (blob: String, diffID: Digest, scratch: String)
        do {
            defer { if paused { do { try unpause(entry) } catch { logger.warn("commit: cannot unpause container \(r0.shortID): \(error)") } } }
            layer = try writeLayer(r0)
        }
        defer { Self.removeTree(layer.scratch) }

        // 3: the blob.
        let dockerTypes = manifest.mediaType == MediaType.dockerManifest
        let layerDesc = try ArchiveStaging.ingestFile(layer.blob, mediaType: dockerTypes ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip,
                                                      into: images.content, lease: lease, leases: images.leases)

        // 4: the config.
        let r = entry.record
        var config = base
        var c = base.config ?? ImageConfig.Config()
        let cc = r.config
        c.user = nonEmpty(cc.user)
        c.env = cc.env
        c.entrypoint = cc.entrypoint
        c.cmd = cc.cmd
        c.workingDir = nonEmpty(cc.workingDir)
        c.labels = cc.labels
        c.stopSignal = nonEmpty(cc.stopSignal)
        c.exposedPorts = cc.exposedPorts.map { $0.mapValues { _ in ImageConfig.Empty() } }
        c.volumes = cc.volumes.map { $0.mapValues { _ in ImageConfig.Empty() } }
        for change in p.changes ?? [] { try ImageService.apply(change: change, to: &c) }
        let created = Clock.rfc3339(nanos: true)
        config.config = c
        config.created = created
        config.author = nonEmpty(p.author)
        config.rootfs.diffIDs.append(layer.diffID)
        var step = ImageConfig.History(created: created, createdBy: (cc.cmd ?? []).joined(separator: " "), comment: nonEmpty(p.comment))
        step.author = nonEmpty(p.author)
        config.history = (base.history ?? []) + [step]
        let configDesc = try images.content.put(ImageDocument.encode(config), mediaType: dockerTypes ? MediaType.dockerConfig : MediaType.ociConfig)
        try images.leases.add(lease, .content, configDesc.digest.description)

        // 5: the manifest, and the layer's snapshot (a container of the new image starts without unpacking).
        let newManifest = Manifest(mediaType: dockerTypes ? MediaType.dockerManifest : MediaType.ociManifest,
                                   config: configDesc, layers: manifest.layers + [layerDesc])
        let newManifestDesc = try images.content.put(ImageDocument.encode(newManifest), mediaType: newManifest.mediaType ?? MediaType.ociManifest)
        try images.leases.add(lease, .content, newManifestDesc.digest.description)
        if let chainID = ChainID.of(config.rootfs.diffIDs) { try images.leases.add(lease, .snapshot, chainID.description) }
        try images.unpackLayers(newManifest, config)

        // 6: the image record.
        var loaded: [String] = []
        try images.record(names: reference.map { [$0] } ?? [], target: newManifestDesc, config: configDesc.digest, now: now, loaded: &loaded)
        let id = configDesc.digest.description
        var attrs = ["imageID": id, "comment": p.comment ?? ""]
        if let reference { attrs["imageRef"] = reference }
        emit("commit", r, attrs)
        return BerthAPI.ContainerCommitResult(id: id)
    }

    /// The writable layer as a gzip-compressed tar in a scratch directory
    /// beside the content store's ingests; its diffID (the uncompressed tar's digest).
    private func writeLayer(_ r: ContainerRecord) throws -> (blob: String, diffID: Digest, scratch: String) {
        let s = images.snapshotter
        let (upper, lowers) = try layerDirectories(r)
        let emptyBlob = images.content.path(of: Digest.sha256(of: [UInt8]()))
        let contentRoot = emptyBlob.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        try Self.makeDirectory(contentRoot + "/ingest", mode: 0o700)
        let scratch = contentRoot + "/ingest/commit-" + r.shortID + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try Self.makeDirectory(scratch, mode: 0o700)
        do {
            let blob = scratch + "/layer.tar.gz"
            let gz = try GzipFile(path: blob)
            let digest = DigestBox()
            let tar = try TarOutput { bytes in
                digest.hasher.update(bytes)
                try gz.write(bytes)
            }
            let upperFD = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard upperFD >= 0 else { throw BerthError(.internal, "open \(upper): \(ContainerFS.errorText())") }
            defer { close(upperFD) }
            if s.appliesWhiteoutsByDeleting {
                try Self.addTreeChanges(tar, upperFD: upperFD, changes: try FilesystemChanges.trees(new: upper, old: lowers.first))
            } else {
                try Self.addOverlayUpper(tar, dir: upperFD, prefix: "")
            }
            try tar.finish()
            try gz.finish()
            return (blob, digest.hasher.copy().finalize(), scratch)
        } catch {
            Self.removeTree(scratch)
            throw error
        }
    }

    final class DigestBox {
        var hasher = Hasher256()
    }

    /// An overlay upper directory as an OCI layer: a whiteout device becomes
    /// `.wh.NAME`, an opaque directory gets `.wh..wh..opq` inside it.
    static func addOverlayUpper(_ tar: TarOutput, dir: Int32, prefix: String) throws {
        for name in try ContainerFS.names(dir) {
            guard let st = ContainerFS.lstat(dir, name) else { continue }
            let path = prefix.isEmpty ? name : prefix + "/" + name
            if ContainerFS.isWhiteout(st) {
                try tar.addEmptyFile((prefix.isEmpty ? "" : prefix + "/") + ".wh." + name, mtime: st.st_mtim)
                continue
            }
            try tar.add(parent: dir, name: name, as: path, st: st)
            guard ContainerFS.isDirectory(st) else { continue }
            if ContainerFS.isOpaque(dir, name) {
                try tar.addEmptyFile(path + "/.wh..wh..opq", mode: st.st_mode & 0o777, uid: st.st_uid, gid: st.st_gid, mtime: st.st_mtim)
            }
            let fd = try ContainerFS.openDirectory(dir, name)
            defer { close(fd) }
            try addOverlayUpper(tar, dir: fd, prefix: path)
        }
    }

    /// A full tree's changes as an OCI layer: each added or changed entry (a
    /// directory alone: its changed content are changes of their own), each
    /// deleted one as `.wh.NAME`.
    static func addTreeChanges(_ tar: TarOutput, upperFD: Int32, changes: [FilesystemChanges.Change]) throws {
        for change in FilesystemChanges.sorted(changes) {
            let comps = ContainerFS.components(change.path)
            guard let name = comps.last else { continue }
            let parentPath = comps.dropLast().joined(separator: "/")
            if change.kind == FilesystemChanges.Kind.deleted.rawValue {
                try tar.addEmptyFile((parentPath.isEmpty ? "" : parentPath + "/") + ".wh." + name)
                continue
            }
            let parent = parentPath.isEmpty ? dup(upperFD) : ContainerFS.openInRoot(upperFD, parentPath, CA_O_PATH | O_DIRECTORY)
            guard parent >= 0 else { continue }
            defer { close(parent) }
            guard let st = ContainerFS.lstat(parent, name) else { continue }
            try tar.add(parent: parent, name: name, as: comps.joined(separator: "/"), st: st)
        }
    }
}
