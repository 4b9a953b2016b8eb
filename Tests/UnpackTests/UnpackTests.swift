import Content
import Glibc
import Metadata
import Snapshots
import Testing
import Unpack

@Suite struct UnpackTests {
    @Test(arguments: ["none", "gzip", "zstd"])
    func busyboxLayerKeepsEverything(compression: String) throws {
        let s = Scratch()
        let tree = s.sub("tree"), target = s.sub("target")
        LayerFixtures.busyboxTree(at: tree)
        LayerFixtures.tar(tree, to: s.path + "/layer.tar")
        let layer = LayerFixtures.compress(s.path + "/layer.tar", as: compression)
        let diffID = Digest(LayerFixtures.sha256(s.path + "/layer.tar"))!
        let result = try LayerUnpacker.apply(file: layer, to: target, options: UnpackOptions(expectedDiffID: diffID))
        #expect(result.diffID == diffID)
        #expect(result.compression.rawValue == compression)
        #expect(result.uncompressedSize == Int64(sh("stat -c %s \(s.path)/layer.tar")))
        #expect(result.compressedSize == Int64(sh("stat -c %s \(layer)")))
        #expect(result.entries > 15)
        #expect(compareTrees(tree, target) == "")
        #expect(sh("chroot \(target) /bin/sh -c 'echo hello'") == "hello")
    }

    @Test func diffIDMismatchIsRejectedNamingBoth() throws {
        let s = Scratch()
        LayerFixtures.crafted(s.path + "/l.tar", "f('a', b'hello')")
        let wrong = Digest.sha256(of: Array("not this".utf8))
        let e = #expect(throws: UnpackError.self) {
            try LayerUnpacker.apply(file: s.path + "/l.tar", to: s.sub("t"), options: UnpackOptions(expectedDiffID: wrong))
        }
        #expect(e?.code == .diffIDMismatch)
        #expect(e?.message.contains(wrong.description) == true)
        #expect(e?.message.contains(LayerFixtures.sha256(s.path + "/l.tar")) == true)
    }

    @Test func compressionIsDetectedFromTheBytes() throws {
        let s = Scratch()
        LayerFixtures.crafted(s.path + "/l.tar", "f('a', b'hello')")
        // A gzip layer with a misleading name still unpacks as gzip.
        sh("gzip -c \(s.path)/l.tar > \(s.path)/layer.zst")
        let r = try LayerUnpacker.apply(file: s.path + "/layer.zst", to: s.sub("t"))
        #expect(r.compression == .gzip)
        #expect(r.diffID.description == LayerFixtures.sha256(s.path + "/l.tar"))
        #expect(readFile(s.path + "/t/a") == "hello")
    }

    @Test func garbageAndTruncatedLayersFail() throws {
        let s = Scratch()
        sh("head -c 100000 /dev/urandom > \(s.path)/junk")
        let e1 = #expect(throws: UnpackError.self) { try LayerUnpacker.apply(file: s.path + "/junk", to: s.sub("t1")) }
        #expect(e1?.code == .invalidArchive)
        LayerFixtures.crafted(s.path + "/l.tar", "f('big', bytes(range(256)) * 4000)")
        sh("gzip -c \(s.path)/l.tar | head -c 3000 > \(s.path)/cut.gz")
        let e2 = #expect(throws: UnpackError.self) { try LayerUnpacker.apply(file: s.path + "/cut.gz", to: s.sub("t2")) }
        #expect(e2?.code == .invalidArchive)
    }

    @Test func laterEntriesReplaceEarlierOnesWithoutFollowingThem() throws {
        let s = Scratch()
        let outside = s.sub("outside")
        writeFile(outside + "/file", "original")
        LayerFixtures.crafted(s.path + "/l.tar", """
            f('x', b'first')
            sym('x', '\(outside)/file')
            f('x', b'second')
            d('dir')
            f('dir/inner', b'i')
            f('dir', b'now a file')
            sym('y', '\(outside)')
            d('y')
            f('y/z', b'z')
            """)
        let t = s.sub("t")
        try LayerUnpacker.apply(file: s.path + "/l.tar", to: t)
        #expect(readFile(t + "/x") == "second")
        #expect(readFile(t + "/dir") == "now a file")
        #expect(readFile(t + "/y/z") == "z")
        #expect(readFile(outside + "/file") == "original")
        #expect(sh("ls -A \(outside)") == "file")
    }

    @Test func hardlinksWithinTheLayerShareAnInode() throws {
        let s = Scratch()
        LayerFixtures.crafted(s.path + "/l.tar", """
            d('a')
            f('a/orig', b'data', mode=0o4755)
            hard('a/link', 'a/orig')
            hard('/b-link', '/a/orig')
            """)
        let t = s.sub("t")
        try LayerUnpacker.apply(file: s.path + "/l.tar", to: t)
        #expect(sh("stat -c %i \(t)/a/orig") == sh("stat -c %i \(t)/a/link"))
        #expect(sh("stat -c %i \(t)/a/orig") == sh("stat -c %i \(t)/b-link"))
        #expect(sh("stat -c %a \(t)/a/orig") == "4755")
    }

    @Test func streamedChunksGiveTheSameResultAsAFile() throws {
        let s = Scratch()
        let tree = s.sub("tree")
        LayerFixtures.busyboxTree(at: tree)
        LayerFixtures.tar(tree, to: s.path + "/layer.tar")
        let layer = LayerFixtures.compress(s.path + "/layer.tar", as: "gzip")
        let fd = open(layer, O_RDONLY)
        defer { close(fd) }
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            data += buf[0..<n]
        }
        let target = s.sub("target")
        let stream = try LayerUnpackStream(into: target, options: UnpackOptions(expectedDiffID: Digest(LayerFixtures.sha256(s.path + "/layer.tar"))), bufferLimit: 64 << 10)
        var offset = 0
        var size = 1
        while offset < data.count {
            let end = min(data.count, offset + size)
            try stream.write(Array(data[offset..<end]))
            offset = end
            size = size * 3 % 70001 + 1  // uneven chunk sizes, one byte up to 70 KB
        }
        let result = try stream.finish()
        #expect(result.diffID.description == LayerFixtures.sha256(s.path + "/layer.tar"))
        #expect(result.compressedSize == Int64(data.count))
        #expect(compareTrees(tree, target) == "")

        // The read end of a pipe works too.
        let target2 = s.sub("target2")
        let pipe = popen("cat \(layer)", "r")!
        let r2 = try LayerUnpacker.apply(fd: fileno(pipe), to: target2)
        pclose(pipe)
        #expect(r2.diffID == result.diffID)
    }

    @Test func aFailedStreamStopsTheWriter() throws {
        let s = Scratch()
        let stream = try LayerUnpackStream(into: s.sub("t"), bufferLimit: 1 << 16)
        let junk = [UInt8](repeating: 0x5a, count: 1 << 16)
        var failed: UnpackError?
        for _ in 0..<100 {
            do { try stream.write(junk) } catch let e as UnpackError { failed = e; break }
        }
        #expect(failed?.code == .invalidArchive)
        #expect(throws: UnpackError.self) { try stream.finish() }

        let cancelled = try LayerUnpackStream(into: s.sub("t2"))
        try cancelled.write([0x1f, 0x8b])
        cancelled.cancel()
        #expect(throws: UnpackError.self) { try cancelled.write([0]) }

        // Dropped without finish: the thread is cancelled and ends.
        do {
            let dropped = try LayerUnpackStream(into: s.sub("t3"))
            try dropped.write([0x1f, 0x8b])
        }
    }

    @Test func sparseFilesKeepTheirHoles() throws {
        let s = Scratch()
        let tree = s.sub("tree"), target = s.sub("target")
        sh("truncate -s 64M \(tree)/sparse && printf middle | dd of=\(tree)/sparse bs=1 seek=33554432 conv=notrunc status=none")
        sh("tar --sparse --format=posix -C \(tree) -cf \(s.path)/l.tar .")
        try LayerUnpacker.apply(file: s.path + "/l.tar", to: target)
        #expect(sh("stat -c %s \(target)/sparse") == "67108864")
        #expect(Int(sh("du -k \(target)/sparse | cut -f1"))! < 1024)
        sh("cmp \(tree)/sparse \(target)/sparse")
    }

    @Test func emptyLayersUnpack() throws {
        let s = Scratch()
        LayerFixtures.crafted(s.path + "/empty.tar", "pass")
        sh("gzip -k \(s.path)/empty.tar")
        for file in ["empty.tar", "empty.tar.gz"] {
            let r = try LayerUnpacker.apply(file: s.path + "/" + file, to: s.sub("t-" + file))
            #expect(r.entries == 0)
            #expect(r.diffID.description == LayerFixtures.sha256(s.path + "/empty.tar"))
        }
    }

    @Test func rootEntryAndImpliedParents() throws {
        let s = Scratch()
        LayerFixtures.crafted(s.path + "/l.tar", """
            d('.', mode=0o750)
            f('deep/er/file', b'x')
            """)
        let t = s.sub("t")
        try LayerUnpacker.apply(file: s.path + "/l.tar", to: t)
        #expect(sh("stat -c %a \(t)") == "750")
        #expect(sh("stat -c %a \(t)/deep/er") == "755")
        #expect(readFile(t + "/deep/er/file") == "x")
    }
}
