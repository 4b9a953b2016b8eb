import CArchive
import Content
import FoundationEssentials
import Glibc
import OCI
import Registry
import RPC
import Snapshots
import Unpack

/// `save` and `load`: image archives as tarballs, written and read with libarchive.
///
/// A saved archive is an OCI image layout (`oci-layout`, `index.json`,
/// `blobs/sha256/…`) that also carries Docker's `manifest.json` over the same
/// blobs, as `docker save` writes since Docker 25. So `docker load`,
/// `podman load`, `skopeo` (`oci-archive:` and `docker-archive:`) and `umoci`
/// (once unpacked) read it. `load` takes such an archive, a plain OCI layout
/// tarball, or an older docker-archive (`<id>/layer.tar` and a config file
/// named in `manifest.json`), compressed or not.
extension ImageService {
    // MARK: save

    public func save(names: [String], to path: String, format: String?) throws {
        guard !names.isEmpty else { throw BerthError(.invalidArgument, "save needs at least one image") }
        guard format == nil || format == "docker" || format == "oci" else {
            throw BerthError(.invalidArgument, "unknown archive format \(format!) (docker or oci)")
        }
        var manifests: [(record: ImageRecord, name: String?, manifest: Descriptor, parsed: Manifest)] = []
        for n in names {
            let (_, records, named) = try resolve(n)
            let record = named ?? records[0]
            let (desc, m) = try platformManifest(record.target, config: record.configDigest)
            let familiar = record.name.flatMap { try? Reference.parseQualified($0) }.flatMap { $0.tag != nil ? $0.familiarString : nil }
            manifests.append((record, familiar, desc, m))
        }
        var blobs: [Digest] = []
        for m in manifests {
            for d in [m.manifest.digest, m.parsed.config.digest] + m.parsed.layers.map(\.digest) where !blobs.contains(d) { blobs.append(d) }
        }
        var index: [JSONValue] = []
        var docker: [JSONValue] = []
        for m in manifests {
            var annotations: [(String, JSONValue)] = []
            if let name = m.record.name {
                annotations.append(("io.containerd.image.name", .string(name)))
                if let tag = (try? Reference.parseQualified(name))?.tag { annotations.append(("org.opencontainers.image.ref.name", .string(tag))) }
            }
            index.append(.object([("mediaType", .string(m.manifest.mediaType)), ("digest", .string(m.manifest.digest.description)),
                                  ("size", .int(m.manifest.size))] + (annotations.isEmpty ? [] : [("annotations", .object(annotations))])))
            docker.append(.object([("Config", .string("blobs/sha256/" + m.parsed.config.digest.encoded)),
                                   ("RepoTags", .array(m.name.map { [JSONValue.string($0)] } ?? [])),
                                   ("Layers", .array(m.parsed.layers.map { .string("blobs/sha256/" + $0.digest.encoded) }))]))
        }
        let writer = try ArchiveWriter(path: path)
        do {
            try writer.add("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try writer.add("index.json", Array(JSONWriter.write(.object([("schemaVersion", 2), ("mediaType", .string(MediaType.ociIndex)),
                                                                         ("manifests", .array(index))])).utf8))
            if format != "oci" { try writer.add("manifest.json", Array(JSONWriter.write(.array(docker)).utf8)) }
            for d in blobs { try writer.addFile("blobs/sha256/" + d.encoded, from: content.path(of: d)) }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }

    // MARK: load

    /// A load that fails leaves nothing: its lease goes and what it stored is collected.
    public func load(from path: String) throws -> BerthAPI.LoadResult {
        do { return try loadArchive(from: path) } catch {
            try? collectGarbage()
            throw error
        }
    }

    func loadArchive(from path: String) throws -> BerthAPI.LoadResult {
        let staging = try ArchiveStaging(root: content)
        defer { staging.remove() }
        try staging.read(path)
        var loaded: [String] = [], ids: [String] = []
        let now = Self.now()
        let lease = "load-" + Digest.sha256(of: Array("\(path) \(now)".utf8)).short
        try leases.create(id: lease, now: now, ttlNanos: Self.leaseTTL)
        defer { try? leases.delete(lease) }

        if let indexBytes = staging.files["index.json"] {
            // An OCI layout (with or without Docker's manifest.json beside it).
            let index = try JSONDecoder().decode(Index.self, from: Data(indexBytes))
            let dockerNames = staging.dockerRepoTags()
            for (i, m) in index.manifests.enumerated() {
                try staging.commitBlobs(into: content, lease: lease, leases: leases)
                let (desc, manifest) = try platformManifest(m)
                let config = try self.config(of: manifest)
                try unpackLayers(manifest, config)
                var names: [String] = []
                if let n = m.annotations?["io.containerd.image.name"] { names.append(n) }
                else if let tag = m.annotations?["org.opencontainers.image.ref.name"], i < dockerNames.count, let n = dockerNames[i].first {
                    names.append(n); _ = tag
                } else if i < dockerNames.count { names += dockerNames[i] }
                try record(names: names, target: m, config: manifest.config.digest, now: now, loaded: &loaded)
                ids.append(manifest.config.digest.description)
                _ = desc
            }
        } else if let manifestBytes = staging.files["manifest.json"] {
            // An older docker-archive: layers as tar files, the config a file; blobs and a manifest are made here.
            struct Entry: Decodable { var Config: String; var RepoTags: [String]?; var Layers: [String] }
            let entries = try JSONDecoder().decode([Entry].self, from: Data(manifestBytes))
            for e in entries {
                let config = try staging.ingest(e.Config, mediaType: MediaType.dockerConfig, into: content, lease: lease, leases: leases)
                var layers: [Descriptor] = []
                for l in e.Layers { layers.append(try staging.ingest(l, mediaType: MediaType.dockerLayer, into: content, lease: lease, leases: leases)) }
                let manifest = Manifest(mediaType: MediaType.dockerManifest, config: config, layers: layers)
                let bytes = ImageDocument.encode(manifest)
                let desc = try content.put(bytes, mediaType: MediaType.dockerManifest)
                try leases.add(lease, .content, desc.digest.description)
                let cfg = try self.config(of: manifest)
                try unpackLayers(manifest, cfg)
                try record(names: e.RepoTags ?? [], target: desc, config: config.digest, now: now, loaded: &loaded)
                ids.append(config.digest.description)
            }
        } else {
            throw BerthError(.invalidArgument, "\(path) is not an image archive: it has neither index.json nor manifest.json")
        }
        return BerthAPI.LoadResult(loaded: loaded, ids: ids)
    }

    /// Each layer into its chain-ID snapshot (skipped when it exists), verified against the diffIDs.
    func unpackLayers(_ manifest: Manifest, _ config: ImageConfig) throws {
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw BerthError(.invalidArgument, "the image has \(manifest.layers.count) layers but its config lists \(diffIDs.count) diff_ids")
        }
        let chain = ChainID.chain(diffIDs)
        for (i, layer) in manifest.layers.enumerated() {
            try LayerUnpacker.apply(file: content.path(of: layer.digest), chainID: chain[i].description,
                                    parent: i == 0 ? nil : chain[i - 1].description, diffID: diffIDs[i], on: snapshotter)
        }
    }

    func record(names: [String], target: Descriptor, config: Digest, now: Int64, loaded: inout [String]) throws {
        if names.isEmpty {
            // An image without a name is kept as a dangling one, as docker load does.
            try images.putDangling(ImageRecord(name: nil, target: target, configDigest: config, createdAt: now, updatedAt: now))
            loaded.append(config.description)
            return
        }
        for n in names {
            let ref = try parse(n)
            try images.put(ImageRecord(name: Self.recordName(ref), target: target, configDigest: config, createdAt: now, updatedAt: now))
            loaded.append(ref.familiarString)
        }
    }
}

/// A tarball being written: regular files only, PAX format, written to a
/// temporary file beside `path` and renamed at the end (a FIFO is written in place).
final class ArchiveWriter {
    private let handle: OpaquePointer
    let path: String
    private let tmp: String?

    init(path: String) throws {
        self.path = path
        var st = stat()
        let isFIFO = stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO
        tmp = isFIFO ? nil : path + ".berth-tmp"
        guard let a = archive_write_new() else { throw BerthError(.internal, "archive_write_new failed") }
        handle = a
        archive_write_set_format_pax_restricted(a)
        // The same bytes whether written to a file or a FIFO (libarchive pads the last block only for the latter).
        archive_write_set_bytes_in_last_block(a, 1)
        if archive_write_open_filename(a, tmp ?? path) != ARCHIVE_OK {
            let msg = String(cString: archive_error_string(a))
            archive_write_free(a)
            throw BerthError(.invalidArgument, "cannot write \(path): \(msg)")
        }
    }

    func add(_ name: String, _ bytes: [UInt8]) throws {
        try header(name, size: Int64(bytes.count))
        let n = bytes.withUnsafeBytes { archive_write_data(handle, $0.baseAddress, $0.count) }
        if n != bytes.count { throw failure(name) }
    }

    func addFile(_ name: String, from source: String) throws {
        let fd = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError(.internal, "open \(source): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        try header(name, size: Int64(st.st_size))
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw BerthError(.internal, "read \(source): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            if buf.withUnsafeBytes({ archive_write_data(handle, $0.baseAddress, n) }) != n { throw failure(name) }
        }
    }

    private func header(_ name: String, size: Int64) throws {
        let e = archive_entry_new()
        defer { archive_entry_free(e) }
        archive_entry_set_pathname(e, name)
        archive_entry_set_size(e, size)
        archive_entry_set_filetype(e, UInt32(0o100000))
        archive_entry_set_perm(e, 0o644)
        archive_entry_set_mtime(e, 0, 0)
        if archive_write_header(handle, e) != ARCHIVE_OK { throw failure(name) }
    }

    private func failure(_ name: String) -> BerthError {
        BerthError(.internal, "writing \(name) into \(path): \(String(cString: archive_error_string(handle)))")
    }

    func finish() throws {
        let rc = archive_write_close(handle)
        archive_write_free(handle)
        guard rc == ARCHIVE_OK else { if let tmp { unlink(tmp) }; throw BerthError(.internal, "cannot finish \(path)") }
        if let tmp, rename(tmp, path) != 0 {
            unlink(tmp)
            throw BerthError(.internal, "rename \(tmp): \(String(cString: strerror(errno)))")
        }
    }

    func abandon() {
        archive_write_free(handle)
        if let tmp { unlink(tmp) }
    }
}

/// An archive being loaded: small JSON files kept in memory, everything else
/// written to a staging directory under the content store's root, then
/// ingested (digest-verified) into the store.
final class ArchiveStaging {
    let dir: String
    var files: [String: [UInt8]] = [:]
    /// Archive path → staged file.
    var staged: [String: String] = [:]

    init(root: ContentStore) throws {
        // ROOT/content/blobs/sha256/HEX → ROOT/content: staging beside the ingests, on the same filesystem.
        let base = root.path(of: Digest.sha256(of: [UInt8]()))
        let contentRoot = base.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        dir = contentRoot + "/ingest/load-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        guard mkdir(dir, 0o700) == 0 else { throw BerthError(.internal, "mkdir \(dir): \(String(cString: strerror(errno)))") }
    }

    func remove() {
        for (_, p) in staged { unlink(p) }
        rmdir(dir)
    }

    func read(_ path: String) throws {
        guard let a = archive_read_new() else { throw BerthError(.internal, "archive_read_new failed") }
        defer { archive_read_free(a) }
        archive_read_support_format_tar(a)
        archive_read_support_filter_all(a)
        guard archive_read_open_filename(a, path, 1 << 20) == ARCHIVE_OK else {
            throw BerthError(.invalidArgument, "cannot read \(path): \(String(cString: archive_error_string(a)))")
        }
        var entry: OpaquePointer?
        var n = 0
        while true {
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else {
                throw BerthError(.invalidArgument, "\(path) is not a valid tar archive: \(String(cString: archive_error_string(a)))")
            }
            guard archive_entry_filetype(entry) == UInt32(0o100000), let cname = archive_entry_pathname(entry) else { continue }
            var name = String(cString: cname)
            while name.hasPrefix("./") { name.removeFirst(2) }
            if name.hasSuffix(".json") || name == "oci-layout" || name == "repositories" {
                var bytes: [UInt8] = []
                var buf = [UInt8](repeating: 0, count: 65536)
                while true {
                    let k = buf.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                    if k < 0 { throw BerthError(.invalidArgument, "reading \(name): \(String(cString: archive_error_string(a)))") }
                    if k == 0 { break }
                    bytes += buf[0..<k]
                    if bytes.count > 64 << 20 { throw BerthError(.invalidArgument, "\(name) is too large") }
                }
                files[name] = bytes
                // A config file of an older docker-archive is a .json too: staged as well.
            }
            n += 1
            let dest = dir + "/\(n)"
            let fd = Glibc.open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw BerthError(.internal, "open \(dest): \(String(cString: strerror(errno)))") }
            staged[name] = dest
            if let bytes = files[name] {
                let ok = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
                close(fd)
                if !ok { throw BerthError(.internal, "write \(dest): \(String(cString: strerror(errno)))") }
                continue
            }
            let rc2 = archive_read_data_into_fd(a, fd)
            close(fd)
            if rc2 != ARCHIVE_OK {
                let message = String(cString: archive_error_string(a))
                throw BerthError(message.contains("space") ? .resourceExhausted : .invalidArgument, "reading \(name) from \(path): \(message)")
            }
        }
    }

    /// Image names of Docker's manifest.json, per entry (empty when absent).
    func dockerRepoTags() -> [[String]] {
        struct Entry: Decodable { var RepoTags: [String]? }
        guard let bytes = files["manifest.json"], let e = try? JSONDecoder().decode([Entry].self, from: Data(bytes)) else { return [] }
        return e.map { $0.RepoTags ?? [] }
    }

    /// Moves every staged `blobs/ALG/HEX` into the store, verifying its digest.
    func commitBlobs(into store: ContentStore, lease: String, leases: LeaseStore) throws {
        for (name, file) in staged where name.hasPrefix("blobs/") {
            let parts = name.split(separator: "/")
            guard parts.count == 3, let d = Digest("\(parts[1]):\(parts[2])") else { continue }
            try leases.add(lease, .content, d.description)
            if store.has(d) { continue }
            var st = stat()
            stat(file, &st)
            let desc = Descriptor(mediaType: "application/octet-stream", digest: d, size: Int64(st.st_size))
            let writer = try store.writer(ref: "load-" + d.encoded, expected: desc)
            do {
                try Self.copy(file, into: writer)
                _ = try writer.commit()
            } catch {
                writer.abort()
                throw BerthError(.invalidArgument, "blob \(name) in the archive: \(error)")
            }
        }
    }

    /// Ingests one staged file (an older docker-archive's layer or config) under its own digest.
    func ingest(_ name: String, mediaType: String, into store: ContentStore, lease: String, leases: LeaseStore) throws -> Descriptor {
        var clean = name
        while clean.hasPrefix("./") { clean.removeFirst(2) }
        guard let file = staged[clean] else { throw BerthError(.invalidArgument, "the archive's manifest.json names \(name), which it does not contain") }
        return try Self.ingestFile(file, mediaType: mediaType, into: store, lease: lease, leases: leases)
    }

    /// Stores a file under its own digest (computed first: an ingest must know
    /// the digest it expects), held by `lease`.
    static func ingestFile(_ file: String, mediaType: String, into store: ContentStore, lease: String, leases: LeaseStore) throws -> Descriptor {
        var h = Hasher256()
        var size: Int64 = 0
        let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError(.invalidArgument, "open \(file): \(String(cString: strerror(errno)))") }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let k = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if k < 0 { close(fd); throw BerthError(.invalidArgument, "read \(file): \(String(cString: strerror(errno)))") }
            if k == 0 { break }
            h.update(buf[0..<k])
            size += Int64(k)
        }
        close(fd)
        let d = h.finalize()
        try leases.add(lease, .content, d.description)
        let desc = Descriptor(mediaType: mediaType, digest: d, size: size)
        if !store.has(d) {
            let writer = try store.writer(ref: "ingest-" + d.encoded, expected: desc)
            do {
                try copy(file, into: writer)
                _ = try writer.commit()
            } catch {
                writer.abort()
                throw error
            }
        }
        return desc
    }

    static func copy(_ file: String, into writer: IngestWriter) throws {
        let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError(.internal, "open \(file)") }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let k = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if k < 0 { throw BerthError(.internal, "read \(file): \(String(cString: strerror(errno)))") }
            if k == 0 { break }
            try buf.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<k])) }
        }
    }
}
