import CArchive
import Glibc
import RPC
import Snapshots
import Unpack

/// A container's files: `diff`, `export`, and `cp` in both directions
/// (Docker's GET and PUT /containers/{id}/archive). These work on running,
/// paused and stopped containers alike (see `openRoot`). Paths inside the
/// container are resolved inside its root: a symlink, even an absolute one or
/// one made of "..", resolves as it would in the container (openat2 with
/// RESOLVE_IN_ROOT), so neither a path nor a planted symlink reaches the host.
///
/// Known limits: volumes and bind mounts (issue 7) are not seen, since the
/// root is the container's own filesystem; `put` resolves the tar's own
/// symlinks with the extraction directory as their root (stricter than
/// Docker, which uses the container's root), and applies `.wh.` entries as
/// whiteouts.
extension ContainerService {
    // MARK: diff

    /// The container's writable layer and the image layers under it (diff, commit).
    func layerDirectories(_ r: ContainerRecord) throws -> (upper: String, lowers: [String]) {
        let s = images.snapshotter
        do {
            return (try s.upperDirectory(r.snapshotKey), try s.lowerDirectories(r.snapshotKey))
        } catch {
            throw BerthError(.internal, "the filesystem of container \(r.shortID) is missing: \(error)")
        }
    }

    /// `diff`: Docker's A/C/D lines, from the writable layer (FilesystemChanges).
    func diff(_ entry: ContainerEntry) throws -> [BerthAPI.ContainerChange] {
        let r = entry.record
        let s = images.snapshotter
        let (upper, lowers) = try layerDirectories(r)
        let changes = s.appliesWhiteoutsByDeleting
            ? try FilesystemChanges.trees(new: upper, old: lowers.first)
            : try FilesystemChanges.overlay(upper: upper, lowers: lowers)
        return FilesystemChanges.sorted(changes)
    }

    // MARK: export

    /// `export`: the container's whole filesystem (the merged view) as a tar
    /// written to `path` (a file, created or truncated, or a FIFO a client reads).
    func export(_ entry: ContainerEntry, to path: String) throws {
        let root = try openRoot(entry)
        let (out, created) = try Self.openOutput(path)
        defer { close(out) }
        do {
            let tar = try TarOutput(fd: out)
            try tar.addContents(of: root.fd, prefix: "")
            try tar.finish()
        } catch {
            if created { unlink(path) }
            throw error
        }
        emit("export", entry.record)
    }

    // MARK: cp

    /// `cp CONTAINER:SRC …` (GET archive): `source` as a tar whose top entry is
    /// its base name (".", with the directory's content below it, when the
    /// source ends in "/."). A symlink at the end of the path is archived as a
    /// link unless the path ends in "/". `ref` is the container as the user
    /// named it, for Docker's error message.
    func archiveGet(_ entry: ContainerEntry, source: String, to path: String, ref: String? = nil) throws {
        let name = ref ?? entry.record.name
        guard source.hasPrefix("/") || !source.isEmpty else { throw BerthError(.invalidArgument, "no source path given") }
        let notFound = BerthError(.notFound, "Could not find the file \(source) in container \(name)")
        let root = try openRoot(entry)
        let comps = ContainerFS.components(source)
        let contentsOnly = source.hasSuffix("/.") || source == "."
        let follow = contentsOnly || source.hasSuffix("/") || comps.isEmpty

        // The directory holding the entry, and the entry's name in it.
        let parent: Int32, entryName: String
        if follow {
            parent = ContainerFS.openInRoot(root.fd, comps.joined(separator: "/"), O_RDONLY | O_DIRECTORY)
            entryName = "."
            if parent < 0 {
                if errno == ENOTDIR { throw BerthError(.invalidArgument, "\(source): not a directory") }
                throw errno == ENOENT ? notFound : BerthError(.internal, "open \(source): \(ContainerFS.errorText())")
            }
        } else {
            parent = ContainerFS.openInRoot(root.fd, comps.dropLast().joined(separator: "/"), CA_O_PATH | O_DIRECTORY)
            entryName = comps.last!
            if parent < 0 {
                if errno == ENOENT || errno == ENOTDIR { throw notFound }
                throw BerthError(.internal, "open \(source): \(ContainerFS.errorText())")
            }
        }
        defer { close(parent) }
        guard let st = ContainerFS.lstat(parent, entryName) else { throw notFound }
        let top = contentsOnly ? "." : (comps.last ?? ".")

        let (out, created) = try Self.openOutput(path)
        defer { close(out) }
        do {
            let tar = try TarOutput(fd: out)
            try tar.add(parent: parent, name: entryName, as: top, st: st)
            if ContainerFS.isDirectory(st) {
                let fd = try ContainerFS.openDirectory(parent, entryName)
                defer { close(fd) }
                try tar.addContents(of: fd, prefix: top)
            }
            try tar.finish()
        } catch {
            if created { unlink(path) }
            throw error
        }
        emit("archive-path", entry.record)
    }

    /// `cp … CONTAINER:DEST` (PUT archive): the tar at `path` (plain or
    /// compressed) extracted into directory `destination` of the container,
    /// owners and modes as the tar has them. The extraction is Unpack's
    /// contained one: nothing in the tar can write outside that directory.
    func archivePut(_ entry: ContainerEntry, destination: String, from path: String, ref: String? = nil) throws {
        let r = entry.record
        let name = ref ?? r.name
        if r.hostConfig.readonlyRootfs == true {
            throw BerthError(.failedPrecondition, "container rootfs is marked read-only")
        }
        let root = try openRoot(entry)
        let dir = ContainerFS.openInRoot(root.fd, ContainerFS.components(destination).joined(separator: "/"), O_RDONLY | O_DIRECTORY)
        if dir < 0 {
            switch errno {
            case ENOENT: throw BerthError(.notFound, "Could not find the file \(destination) in container \(name)")
            case ENOTDIR: throw BerthError(.invalidArgument, "extraction point is not a directory")
            default: throw BerthError(.internal, "open \(destination): \(ContainerFS.errorText())")
            }
        }
        defer { close(dir) }
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw BerthError(.invalidArgument, "open \(path): \(ContainerFS.errorText())") }
        defer { close(input) }
        do {
            // The directory by its fd: a rename in the container cannot redirect the extraction.
            _ = try LayerUnpacker.apply(fd: input, to: "/proc/self/fd/\(dir)", options: UnpackOptions(whiteouts: .delete))
        } catch let e as UnpackError {
            throw BerthError(.invalidArgument, "cannot extract the archive into \(destination): \(e)")
        }
        emit("extract-to-dir", r)
    }

    /// Opens where a tar goes: a FIFO as it is (this waits for its reader), a
    /// file created or truncated. Returns the fd and whether a file was created.
    static func openOutput(_ path: String) throws -> (Int32, Bool) {
        guard path.hasPrefix("/") else { throw BerthError(.invalidArgument, "the output path must be absolute: \(path)") }
        var st = stat()
        let existed = stat(path, &st) == 0
        let fd = open(path, O_WRONLY | O_CREAT | (existed && st.st_mode & S_IFMT == S_IFIFO ? 0 : O_TRUNC) | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BerthError(.invalidArgument, "cannot write \(path): \(ContainerFS.errorText())") }
        return (fd, !existed)
    }
}
