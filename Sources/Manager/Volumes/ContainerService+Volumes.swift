import ContainerSpec
import Glibc
import OCI
import RPC
import Snapshots

/// Volumes and bind mounts of containers (docs/volumes.md): resolved and the
/// volumes created at create, mounted (and filled from the image) at start,
/// released at exit, anonymous ones removed with `rm -v`.
extension ContainerService {
    /// The mount points of a new container; nothing is made yet.
    func planMounts(config: BerthAPI.ContainerConfig, hostConfig: BerthAPI.HostConfig) throws -> MountPlan {
        try MountPlan.resolve(config: config, hostConfig: hostConfig) { ref in
            (try self.entry(ref)).record.mounts ?? []
        }
    }

    /// Creates the volumes `plan` needs that do not exist yet, then runs `body`
    /// (which stores the container), under the volumes' lock so that no `volume rm`
    /// comes between. A failure removes the volumes made here.
    func withPlannedVolumes(_ plan: MountPlan, _ body: () throws -> Void) throws {
        try volumes.lock.withLock { _ in
            var made: [VolumeRecord] = []
            do {
                for p in plan.volumes {
                    let (r, created) = try volumes.createLocked(p)
                    if created { made.append(r) }
                }
                try body()
            } catch {
                for r in made { try? volumes.removeLocked(r) }
                throw error
            }
        }
    }

    /// Docker's MountPoints of a container (inspect, ps).
    func mountPoints(_ r: ContainerRecord) -> [BerthAPI.MountPoint] {
        (r.mounts ?? []).map { $0.view(volumeData: volumes.dataPath) }
    }

    /// The ids of the containers that reference volume `name`.
    func volumeUsers(_ name: String) -> [String] {
        entries.map(\.record).filter { ($0.mounts ?? []).contains { $0.type == .volume && $0.name == name } }.map(\.id)
    }

    /// At start, before the shim (whose mount namespace must see them): each
    /// volume mounted if it mounts on use, each bind's host directory made for
    /// `-v`; the runtime mounts for config.json. A failure releases what was taken.
    /// New volumes are filled from the image once the rootfs is up (fillNewVolumes).
    func prepareMounts(_ r: ContainerRecord) throws -> [RuntimeConfig.Mount] {
        var out: [RuntimeConfig.Mount] = []
        do {
            for m in r.mounts ?? [] {
                switch m.type {
                case .volume:
                    let name = m.name ?? ""
                    let data = try volumes.acquire(name, container: r.id)
                    out.append(.init(destination: m.destination, type: "bind", source: data,
                                     options: ["rbind", m.rw ? "rw" : "ro", "rprivate"]))
                case .bind:
                    let source = m.source ?? ""
                    try Self.ensureBindSource(source, create: m.createSource ?? false)
                    out.append(.init(destination: m.destination, type: "bind", source: source,
                                     options: ["rbind", m.rw ? "rw" : "ro", m.propagation.isEmpty ? "rprivate" : m.propagation]))
                case .tmpfs:
                    do { out += try SpecBuilder.tmpfsMounts([m.destination: m.tmpfsOptions ?? ""]) } catch {
                        throw BerthError(.invalidArgument, error.message)
                    }
                }
            }
        } catch {
            releaseMounts(r)
            throw error
        }
        return out
    }

    /// Copy-up for each of the container's volumes (but `nocopy` ones), with its
    /// rootfs mounted at `rootfs`.
    func fillNewVolumes(_ r: ContainerRecord, rootfs: String) throws {
        for m in r.mounts ?? [] where m.type == .volume && m.noCopy != true {
            let name = m.name ?? ""
            try copyUp(volume: name, data: volumes.dataPath(name), rootfs: rootfs, path: m.destination)
        }
    }

    /// The task is gone: volumes mounted on use are unmounted when no other running container has them.
    func releaseMounts(_ r: ContainerRecord) {
        for m in r.mounts ?? [] where m.type == .volume {
            volumes.release(m.name ?? "", container: r.id)
        }
    }

    /// berthd started again: the running containers' volumes are in use (and mounted, if they mount on use).
    func reacquireVolumes() {
        for r in entries.map(\.record) where r.state.hasTask {
            for m in r.mounts ?? [] where m.type == .volume {
                do { _ = try volumes.acquire(m.name ?? "", container: r.id) } catch {
                    logger.warn("container \(r.shortID): volume \(m.name ?? ""): \(error)")
                }
            }
        }
    }

    /// `rm -v`, `--rm`: the container's anonymous volumes, unless another container
    /// still references one (through `--volumes-from`). Named volumes stay.
    func removeAnonymousVolumes(_ mounts: [ContainerMount]) {
        for m in mounts where m.type == .volume {
            guard let name = m.name, let rec = try? volumes.record(name), rec.isAnonymous else { continue }
            do { try volumes.remove(name, force: true) } catch {
                logger.info("volume \(name) kept: \(error)")
            }
        }
    }

    /// Copy-up (Docker's): a volume that is empty and was never filled gets what the
    /// image has at `path` (owners, modes, times, symlinks, xattrs). The path is
    /// resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), so an image's symlink
    /// there cannot make berthd copy a host directory.
    func copyUp(volume name: String, data: String, rootfs: String, path: String) throws {
        let rec = try volumes.record(name)
        guard rec.copiedUp != true else { return }
        let dataFD = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dataFD >= 0 else { throw BerthError(.internal, "open \(data): \(ContainerFS.errorText())") }
        defer { close(dataFD) }
        guard try ContainerFS.names(dataFD).isEmpty else { return }
        let rootFD = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw BerthError(.internal, "open \(rootfs): \(ContainerFS.errorText())") }
        defer { close(rootFD) }
        let src = ContainerFS.openInRoot(rootFD, path, O_RDONLY | O_DIRECTORY)
        guard src >= 0 else { return }  // nothing (or no directory) there in the image
        defer { close(src) }
        do { try TreeCopy.copy(from: "/proc/self/fd/\(src)", to: data) } catch {
            throw BerthError(.internal, "cannot copy the image's \(path) into volume \(name): \(error)")
        }
        // A volume mounted on use (tmpfs) is empty again at its next mount, as with Docker.
        if !rec.mountsOnUse { volumes.markCopiedUp(name) }
    }

    /// `-v /host:/path` makes a missing host directory (mkdir -p, 0755), as Docker
    /// does; `--mount type=bind` refuses one.
    static func ensureBindSource(_ source: String, create: Bool) throws {
        var st = stat()
        if stat(source, &st) == 0 { return }
        guard create else {
            throw BerthError(.invalidArgument, "invalid mount config for type \"bind\": bind source path does not exist: \(source)")
        }
        var path = ""
        for part in source.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw BerthError(.internal, "error while creating mount source path '\(source)': mkdir \(path): \(ContainerFS.errorText())")
            }
        }
    }
}
