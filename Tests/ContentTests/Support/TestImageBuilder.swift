import Content
#if canImport(Glibc)
import Glibc
#endif

/// Builds small real images for the tests: busybox-static root filesystems tarred (and
/// gzipped) by `tar`, with their config, manifest and (optionally) index written into a
/// ContentStore, and exported as an OCI layout for skopeo.
enum TestImageBuilder {
    struct Layer {
        var descriptor: Descriptor
        var diffID: Digest
    }

    struct Image {
        var manifest: Descriptor
        var config: Descriptor
        var layers: [Descriptor]
    }

    static var busyboxAvailable: Bool { access("/bin/busybox", X_OK) == 0 && Subprocess.which("tar") && Subprocess.which("gzip") }

    /// A root filesystem with busybox and a few applet links, plus `extra` files (path → content).
    static func busyboxRootfs(extra: [String: String] = [:]) throws -> String {
        let dir = Subprocess.tempDir("rootfs")
        for d in ["bin", "etc", "tmp"] { mkdir(dir + "/" + d, 0o755) }
        let r = Subprocess.run(["cp", "/bin/busybox", dir + "/bin/busybox"])
        guard r.status == 0 else { throw TestFailure("cp busybox: \(r.output)") }
        for applet in ["sh", "ls", "cat", "echo", "true"] { symlink("busybox", dir + "/bin/" + applet) }
        try Subprocess.writeFile(dir + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        for (path, content) in extra { try Subprocess.writeFile(dir + "/" + path, content) }
        return dir
    }

    /// Tars `directory` into a layer blob in `store`; `gzip` selects tar+gzip over plain tar.
    static func layer(from directory: String, into store: ContentStore, gzip: Bool = true, docker: Bool = false) throws -> Layer {
        let tarPath = directory + ".tar"
        var r = Subprocess.run(["tar", "--numeric-owner", "--sort=name", "--mtime=@0", "-C", directory, "-cf", tarPath, "."])
        guard r.status == 0 else { throw TestFailure("tar: \(r.output)") }
        defer { unlink(tarPath) }
        let diffID = try digest(ofFile: tarPath)
        var blobPath = tarPath
        if gzip {
            r = Subprocess.run(["sh", "-c", "gzip -n -1 -c '\(tarPath)' > '\(tarPath).gz'"])
            guard r.status == 0 else { throw TestFailure("gzip: \(r.output)") }
            blobPath = tarPath + ".gz"
        }
        defer { if gzip { unlink(blobPath) } }
        let type = docker ? (gzip ? MediaType.dockerLayerGzip : MediaType.dockerLayer) : (gzip ? MediaType.ociLayerGzip : MediaType.ociLayer)
        return Layer(descriptor: try ingest(file: blobPath, mediaType: type, into: store), diffID: diffID)
    }

    /// A layer holding one file of `megabytes` MiB of random data (incompressible, so stored plain).
    static func randomLayer(megabytes: Int, into store: ContentStore) throws -> Layer {
        let dir = Subprocess.tempDir("random")
        defer { Subprocess.run(["rm", "-rf", dir]) }
        let r = Subprocess.run(["sh", "-c", "head -c \(megabytes)M /dev/urandom > '\(dir)/random.bin'"])
        guard r.status == 0 else { throw TestFailure("random: \(r.output)") }
        return try layer(from: dir, into: store, gzip: false)
    }

    /// Writes config and manifest for `layers` into the store.
    static func image(layers: [Layer], into store: ContentStore, platform: Platform = .host, docker: Bool = false,
                      cmd: [String] = ["/bin/sh"], created: String = "2026-01-01T00:00:00Z",
                      labels: [String: String] = ["org.berth.test": "1"]) throws -> Image {
        let history = layers.map { _ in ImageConfig.History(created: created, createdBy: "berth test layer") }
            + [ImageConfig.History(created: created, createdBy: "CMD \(cmd)", emptyLayer: true)]
        let config = ImageConfig(platform: platform,
                                 config: ImageConfig.Config(env: ["PATH=/bin"], cmd: cmd, workingDir: "/",
                                                            labels: labels),
                                 diffIDs: layers.map(\.diffID), history: history, created: created)
        let configDesc = try store.put(ImageDocument.encode(config), mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig)
        let manifest = Manifest(mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
                                config: configDesc, layers: layers.map(\.descriptor))
        let manifestDesc = try store.put(ImageDocument.encode(manifest), mediaType: manifest.mediaType!)
        return Image(manifest: manifestDesc, config: configDesc, layers: layers.map(\.descriptor))
    }

    /// Writes an index over `manifests` (each with its platform) into the store.
    static func index(_ manifests: [(Descriptor, Platform)], into store: ContentStore, docker: Bool = false) throws -> Descriptor {
        let index = Index(mediaType: docker ? MediaType.dockerManifestList : MediaType.ociIndex,
                          manifests: manifests.map { d, p in var d = d; d.platform = p; return d })
        return try store.put(ImageDocument.encode(index), mediaType: index.mediaType!)
    }

    /// Exports `root` and everything it names as an OCI image layout directory (for skopeo).
    static func writeOCILayout(_ root: Descriptor, from store: ContentStore, to dir: String, tag: String = "latest") throws {
        Subprocess.run(["mkdir", "-p", dir + "/blobs/sha256"])
        var pending = [root]
        while let d = pending.popLast() {
            Subprocess.run(["cp", store.path(of: d.digest), dir + "/blobs/sha256/" + d.digest.encoded])
            if MediaType.isManifest(d.mediaType) || MediaType.isIndex(d.mediaType) {
                switch try ImageDocument.decode(try store.read(d.digest), mediaType: d.mediaType) {
                case .manifest(let m): pending += [m.config] + m.layers
                case .index(let i): pending += i.manifests
                }
            }
        }
        var top = root
        top.annotations = ["org.opencontainers.image.ref.name": tag]
        try Subprocess.writeFile(dir + "/index.json", ImageDocument.encode(Index(manifests: [top])))
        try Subprocess.writeFile(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
    }

    static func ingest(file: String, mediaType: String, into store: ContentStore) throws -> Descriptor {
        let digest = try digest(ofFile: file)
        var st = stat()
        stat(file, &st)
        let desc = Descriptor(mediaType: mediaType, digest: digest, size: Int64(st.st_size))
        if store.has(digest) { return desc }
        let w = try store.writer(ref: "test-" + digest.description, expected: desc)
        try w.truncate(to: 0)
        try forEachChunk(file) { try w.write($0) }
        try w.commit()
        return desc
    }

    static func digest(ofFile path: String) throws -> Digest {
        var h = Hasher256()
        try forEachChunk(path) { h.update($0) }
        return h.finalize()
    }

    static func forEachChunk(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        defer { close(fd) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = read(fd, buf.baseAddress, buf.count)
            if n <= 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
    }
}
