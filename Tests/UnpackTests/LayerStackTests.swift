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
        sh("zstd -q --rm \(f.root)/top.tar")
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
