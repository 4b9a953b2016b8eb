import Content
import Glibc
import Metadata
import Snapshots
import Testing
import Unpack

/// Layers applied into chained snapshots (keyed by chain ID, as the manager
/// does), then mounted: the merged tree is what the image means.
@Suite struct LayerStackTests {
    /// Applies `layers` in order on `s`, each in a snapshot named by its chain ID.
    static func applyStack(_ layers: [String], on s: any Snapshotter) throws -> [Digest] {
        var diffIDs: [Digest] = []
        var parent: String?
        for (i, layer) in layers.enumerated() {
            let key = "extract-\(i)"
            _ = try s.prepare(key, parent: parent)
            let options = UnpackOptions(whiteouts: s.appliesWhiteoutsByDeleting ? .delete : .overlay,
                                        lowerDirectories: try s.lowerDirectories(key))
            let r = try LayerUnpacker.apply(file: layer, to: try s.upperDirectory(key), options: options)
            diffIDs.append(r.diffID)
            let chainID = ChainID.chain(diffIDs).last!.description
            try s.commit(chainID, key: key)
            parent = chainID
        }
        return ChainID.chain(diffIDs)
    }

    @Test(arguments: SnapshotterKind.allCases)
    func whiteoutsAndOpaqueDirectoriesGiveTheMergedView(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        let l1 = f.root + "/l1.tar", l2 = f.root + "/l2.tar"
        LayerFixtures.crafted(l1, """
            d('d')
            f('d/a', b'a')
            f('d/b', b'b')
            f('f', b'f')
            d('o')
            f('o/x', b'x')
            d('o/sub')
            f('o/sub/y', b'y')
            d('keep', mode=0o711)
            f('keep/k', b'k')
            """)
        LayerFixtures.crafted(l2, """
            f('d/.wh.a', b'')
            f('.wh.f', b'')
            d('o')
            f('o/z', b'z')
            f('o/.wh..wh..opq', b'')
            f('keep/new', b'n')
            f('.wh..wh.plnk', b'')
            """)
        let chain = try Self.applyStack([l1, l2], on: s)
        if kind == .overlayfs {
            // In the upper directory: the whiteout is a 0:0 character device, opacity an xattr.
            _ = try s.prepare("inspect", parent: chain[1].description)
            let upper = try s.lowerDirectories("inspect")[0]
            #expect(sh("stat -c '%F %t:%T %u:%g' \(upper)/d/a") == "character special file 0:0 0:0")
            #expect(sh("python3 -c \"import os; print(os.getxattr('\(upper)/o', 'trusted.overlay.opaque'))\"") == "b'y'")
            // An implied directory (keep/) takes its mode from the layer below.
            #expect(sh("stat -c %a \(upper)/keep") == "711")
        }
        try withMounted(try s.view("merged", parent: chain[1].description), in: f.scratch) { m in
            #expect(sh("cd \(m) && find . | sort") == """
                .
                ./d
                ./d/b
                ./keep
                ./keep/k
                ./keep/new
                ./o
                ./o/z
                """)
            #expect(sh("stat -c %a \(m)/keep") == "711")
        }
    }

    @Test(arguments: SnapshotterKind.allCases)
    func sharedLayersAreStoredOnceAndFailuresLeaveNothing(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        LayerFixtures.crafted(f.root + "/base.tar", "f('base', b'b')")
        LayerFixtures.crafted(f.root + "/a.tar", "f('a', b'a')")
        LayerFixtures.crafted(f.root + "/b.tar", "f('b', b'b')")
        let base = Digest(LayerFixtures.sha256(f.root + "/base.tar"))!
        let a = Digest(LayerFixtures.sha256(f.root + "/a.tar"))!
        let b = Digest(LayerFixtures.sha256(f.root + "/b.tar"))!
        let imageA = ChainID.chain([base, a]), imageB = ChainID.chain([base, b])
        #expect(try LayerUnpacker.apply(file: f.root + "/base.tar", chainID: imageA[0].description, parent: nil, diffID: base, on: s))
        #expect(try LayerUnpacker.apply(file: f.root + "/a.tar", chainID: imageA[1].description, parent: imageA[0].description, diffID: a, on: s))
        // The second image shares the base: it is not unpacked again.
        #expect(try LayerUnpacker.apply(file: f.root + "/base.tar", chainID: imageB[0].description, parent: nil, diffID: base, on: s) == false)
        #expect(try LayerUnpacker.apply(file: f.root + "/b.tar", chainID: imageB[1].description, parent: imageB[0].description, diffID: b, on: s))
        #expect(try s.list().map(\.name) == [imageA[0], imageA[1], imageB[1]].map(\.description))
        // A layer that fails its diffID leaves no snapshot behind.
        #expect(throws: UnpackError.self) {
            try LayerUnpacker.apply(file: f.root + "/b.tar", chainID: "sha256:" + String(repeating: "0", count: 64), parent: nil, diffID: a, on: s)
        }
        #expect(try s.list().count == 3)
        // Two pulls racing on one layer: the second commit drops its copy.
        let first = try PendingLayer.begin(chainID: "race", parent: nil, diffID: nil, on: s)!
        let second = try PendingLayer.begin(chainID: "race", parent: nil, diffID: nil, on: s)!
        try first.commit()
        try second.commit()
        #expect(try s.list().filter { $0.name.hasPrefix(PendingLayer.keyPrefix) }.isEmpty)
        // Interrupted extractions are swept at start-up.
        _ = try PendingLayer.begin(chainID: "crashed", parent: nil, diffID: nil, on: s)
        #expect(try PendingLayer.removeStale(on: s) == 1)
    }

    @Test(arguments: SnapshotterKind.allCases)
    func busyboxImageStackRuns(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        let tree = f.scratch.sub("tree")
        LayerFixtures.busyboxTree(at: tree)
        LayerFixtures.tar(tree, to: f.root + "/base.tar")
        sh("gzip \(f.root)/base.tar")
        LayerFixtures.crafted(f.root + "/top.tar", """
            d('etc')
            f('etc/hostname', b'berth\\n')
            f('bin/.wh.ls', b'')
            sym('bin/hi', 'busybox')
            """)
        LayerFixtures.zstd(f.root + "/top.tar", to: f.root + "/top.tar.zst")
        let chain = try Self.applyStack([f.root + "/base.tar.gz", f.root + "/top.tar.zst"], on: s)
        #expect(chain[0].description == LayerFixtures.sha256Uncompressed(f.root + "/base.tar.gz", "gzip -dc"))
        let m = try s.prepare("container", parent: chain[1].description)
        try withMounted(m, in: f.scratch) { root in
            #expect(sh("chroot \(root) /bin/cat /etc/hostname") == "berth")
            #expect(!exists(root + "/bin/ls"))
            #expect(sh("chroot \(root) /bin/sh -c 'echo written > /etc/motd; cat /etc/passwd'") == "root:x:0:0:root:/root:/bin/sh")
        }
        // The container's write stays in its own snapshot.
        try withMounted(try s.view("image", parent: chain[1].description), in: f.scratch) { root in
            #expect(!exists(root + "/etc/motd"))
            #expect(exists(root + "/bin/busybox"))
        }
        #expect(readFile(try s.upperDirectory("container") + "/etc/motd") == "written\n")
    }
}

extension LayerFixtures {
    static func sha256Uncompressed(_ file: String, _ decompress: String) -> String {
        "sha256:" + String(sh("\(decompress) \(file) | sha256sum").prefix(64))
    }
}
