import Glibc
import Metadata
import Snapshots
import Testing

/// The contract every Snapshotter must keep (containerd's semantics), run against each implementation.
@Suite struct SnapshotterConformanceTests {
    @Test(arguments: SnapshotterKind.allCases)
    func prepareCommitViewChain(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        let m1 = try s.prepare("a-active", parent: nil)
        try withMounted(m1, in: f.scratch) { dir in
            writeFile(dir + "/one", "1")
            mkdir(dir + "/d", 0o750)
            writeFile(dir + "/d/gone", "x")
        }
        try s.commit("a", key: "a-active")
        #expect(try s.exists("a-active") == false)
        #expect(try s.stat("a").kind == .committed)

        let m2 = try s.prepare("b-active", parent: "a")
        try withMounted(m2, in: f.scratch) { dir in
            #expect(readFile(dir + "/one") == "1")
            writeFile(dir + "/two", "2")
            writeFile(dir + "/one", "1b")
            unlink(dir + "/d/gone")
        }
        #expect(try s.stat("b-active").parent == "a")
        #expect(try s.stat("b-active").kind == .active)
        try s.commit("b", key: "b-active")

        let v = try s.view("v", parent: "b")
        #expect(v.allSatisfy { $0.options.contains("ro") || $0.type == "overlay" })
        try withMounted(v, in: f.scratch) { dir in
            #expect(readFile(dir + "/one") == "1b")
            #expect(readFile(dir + "/two") == "2")
            #expect(!exists(dir + "/d/gone"))
            #expect(exists(dir + "/d"))
            // A view is read-only.
            #expect(open(dir + "/three", O_WRONLY | O_CREAT, 0o644) < 0 && errno == EROFS)
        }
        #expect(try s.stat("v").kind == .view)

        // The parent still shows what it had when committed.
        let va = try s.view("va", parent: "a")
        try withMounted(va, in: f.scratch) { dir in
            #expect(readFile(dir + "/one") == "1")
            #expect(exists(dir + "/d/gone"))
            #expect(!exists(dir + "/two"))
        }

        // Three levels: a view over two parents (an overlay of lowers only, for overlayfs).
        let m3 = try s.prepare("c-active", parent: "b")
        try withMounted(m3, in: f.scratch) { dir in writeFile(dir + "/three", "3") }
        try s.commit("c", key: "c-active")
        try withMounted(try s.view("vc", parent: "c"), in: f.scratch) { dir in
            #expect(readFile(dir + "/one") == "1b")
            #expect(readFile(dir + "/three") == "3")
        }
    }

    @Test(arguments: SnapshotterKind.allCases)
    func writesInActiveSnapshotAreVisibleThroughItsMounts(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        _ = try s.prepare("base-active")
        try withMounted(try s.mounts("base-active"), in: f.scratch) { writeFile($0 + "/f", "base") }
        try s.commit("base", key: "base-active")
        _ = try s.prepare("work", parent: "base")
        try withMounted(try s.mounts("work"), in: f.scratch) { writeFile($0 + "/g", "written") }
        // A second mount of the same active snapshot sees the earlier write.
        try withMounted(try s.mounts("work"), in: f.scratch) { dir in
            #expect(readFile(dir + "/g") == "written")
            #expect(readFile(dir + "/f") == "base")
        }
    }

    @Test(arguments: SnapshotterKind.allCases)
    func committedSnapshotsAreImmutable(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        _ = try s.prepare("k")
        try s.commit("c", key: "k")
        let e1 = #expect(throws: SnapshotError.self) { try s.mounts("c") }
        #expect(e1?.code == .failedPrecondition)
        let e2 = #expect(throws: SnapshotError.self) { try s.commit("c2", key: "c") }
        #expect(e2?.code == .failedPrecondition)
        _ = try s.view("v", parent: "c")
        let e3 = #expect(throws: SnapshotError.self) { try s.commit("c3", key: "v") }
        #expect(e3?.code == .failedPrecondition)
        // Parents must be committed.
        _ = try s.prepare("open")
        let e4 = #expect(throws: SnapshotError.self) { try s.prepare("child", parent: "open") }
        #expect(e4?.code == .failedPrecondition)
    }

    @Test(arguments: SnapshotterKind.allCases)
    func removeIsRefusedWhileChildrenExist(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        let dir = f.root + "/snapshots/" + s.name
        _ = try s.prepare("p-active")
        try s.commit("p", key: "p-active")
        _ = try s.prepare("child", parent: "p")
        _ = try s.view("view", parent: "p")
        let e = #expect(throws: SnapshotError.self) { try s.remove("p") }
        #expect(e?.code == .failedPrecondition)
        #expect(e?.message.contains("child") == true)
        try s.remove("child")
        try s.remove("view")
        try s.remove("p")
        #expect(try s.list().isEmpty)
        // No directory is left behind.
        #expect(sh("ls -A \(dir)") == "")
    }

    @Test(arguments: SnapshotterKind.allCases)
    func usageCountsBytesAndInodes(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        let m = try s.prepare("u")
        try withMounted(m, in: f.scratch) { dir in
            sh("head -c 1048576 /dev/urandom > \(dir)/big && mkdir \(dir)/d && echo x > \(dir)/d/small && ln \(dir)/big \(dir)/big-link")
        }
        let active = try s.usage("u")
        #expect(active.size >= 1 << 20)
        #expect(active.size < 2 << 20, "the hardlink is counted once")
        #expect(active.inodes >= 4)  // root, big, d, d/small
        try s.commit("uc", key: "u")
        #expect(try s.usage("uc") == active)
        _ = try s.prepare("empty-child", parent: "uc")
        if s.appliesWhiteoutsByDeleting {
            #expect(try s.usage("empty-child").size >= 1 << 20, "a copying snapshotter's child holds a full copy")
        } else {
            #expect(try s.usage("empty-child").size < 64 << 10, "an overlay child's usage excludes its parents")
        }
    }

    @Test(arguments: SnapshotterKind.allCases)
    func walkVisitsEverySnapshot(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        _ = try s.prepare("l1-active")
        try s.commit("l1", key: "l1-active")
        _ = try s.prepare("l2-active", parent: "l1")
        try s.commit("l2", key: "l2-active", labels: ["berth.io/ref": "two"])
        _ = try s.view("v", parent: "l2")
        _ = try s.prepare("a", parent: "l2", labels: ["x": "y"])
        let all = try s.list()
        #expect(all.map(\.name) == ["l1", "l2", "v", "a"])
        #expect(all.map(\.kind) == [.committed, .committed, .view, .active])
        #expect(all.map(\.parent) == [nil, "l1", "l2", "l2"])
        #expect(all[1].labels == ["berth.io/ref": "two"])
        #expect(all[3].labels == ["x": "y"])
        let updated = try s.update("a", labels: ["z": "1"])
        #expect(updated.labels == ["z": "1"])
        #expect(try s.stat("a").labels == ["z": "1"])
    }

    @Test(arguments: SnapshotterKind.allCases)
    func errorsForUnknownAndDuplicateKeys(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let s = try f.open(kind)
        for call in [{ _ = try s.stat("nope") }, { _ = try s.mounts("nope") }, { try s.commit("x", key: "nope") },
                     { try s.remove("nope") }, { _ = try s.usage("nope") }, { _ = try s.prepare("k", parent: "nope") }] {
            let e = #expect(throws: SnapshotError.self) { try call() }
            #expect(e?.code == .notFound)
        }
        _ = try s.prepare("dup")
        let e1 = #expect(throws: SnapshotError.self) { try s.prepare("dup") }
        #expect(e1?.code == .alreadyExists)
        let e2 = #expect(throws: SnapshotError.self) { try s.view("dup") }
        #expect(e2?.code == .alreadyExists)
        _ = try s.prepare("other")
        try s.commit("done", key: "other")
        let e3 = #expect(throws: SnapshotError.self) { try s.commit("done", key: "dup") }
        #expect(e3?.code == .alreadyExists)
        #expect(try s.stat("dup").kind == .active, "a refused commit leaves the snapshot as it was")
        let e4 = #expect(throws: SnapshotError.self) { try s.prepare("") }
        #expect(e4?.code == .invalidArgument)
        // Failed prepares leave no directory: only the two snapshots' directories exist.
        #expect(sh("ls -A \(f.root)/snapshots/\(s.name) | wc -l") == "2")
    }

    @Test(arguments: SnapshotterKind.allCases)
    func recordsPersistAcrossReopening(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        do {
            let s = try f.open(kind)
            let m = try s.prepare("base-active", parent: nil, labels: ["k": "v"])
            try withMounted(m, in: f.scratch) { writeFile($0 + "/kept", "yes") }
            try s.commit("base", key: "base-active")
            _ = try s.prepare("top", parent: "base")
        }
        // Something a crash could leave: a half-made snapshot directory.
        mkdir(f.root + "/snapshots/\(kind.rawValue)/new-crashed", 0o700)
        let s = try f.open(kind)
        #expect(try s.list().map(\.name) == ["base", "top"])
        #expect(try s.stat("base").labels == ["k": "v"])
        #expect(try s.stat("top").parent == "base")
        try withMounted(try s.mounts("top"), in: f.scratch) { dir in
            #expect(readFile(dir + "/kept") == "yes")
        }
        #expect(!exists(f.root + "/snapshots/\(kind.rawValue)/new-crashed"), "leftovers are swept on open")
    }

    @Test(arguments: SnapshotterKind.allCases)
    func sameKeysInTwoSnapshottersAreIndependent(kind: SnapshotterKind) throws {
        let f = SnapshotFixture()
        let db = try Database(path: f.root + "/metadata.db")
        let a = try kind.open(root: f.root, database: db)
        let other: SnapshotterKind = kind == .overlayfs ? .native : .overlayfs
        let b = try other.open(root: f.root, database: db)
        _ = try a.prepare("same")
        _ = try b.prepare("same")
        try a.remove("same")
        #expect(try b.exists("same"))
    }
}

/// What only one implementation has to show.
@Suite struct SnapshotterSpecificTests {
    @Test func overlayMountsADeepChainWithLongPaths() throws {
        let scratch = Scratch("berth-deep")
        // A long root: 40 layers of ~240-byte lowerdirs is more than the page the kernel copies.
        let root = scratch.path + "/" + String(repeating: "r", count: 200)
        mkdir(root, 0o755)
        let s = try OverlaySnapshotter(root: root, database: try Database(path: root + "/metadata.db"))
        var parent: String?
        for i in 0..<40 {
            _ = try s.prepare("l\(i)-active", parent: parent)
            writeFile(try s.upperDirectory("l\(i)-active") + "/f\(i)", "\(i)")
            try s.commit("l\(i)", key: "l\(i)-active")
            parent = "l\(i)"
        }
        let mounts = try s.prepare("top", parent: parent)
        #expect(mounts[0].options.joined(separator: ",").utf8.count > 4096)
        var cwd = [CChar](repeating: 0, count: 4096)
        let before = String(cString: getcwd(&cwd, cwd.count))
        try withMounted(mounts, in: scratch) { dir in
            #expect(readFile(dir + "/f0") == "0")
            #expect(readFile(dir + "/f39") == "39")
        }
        #expect(String(cString: getcwd(&cwd, cwd.count)) == before, "the process keeps its working directory")
    }

    @Test func nativeCopyKeepsOwnersModesXattrsTimesLinksAndNodes() throws {
        let f = SnapshotFixture()
        let s = try f.open(.native)
        _ = try s.prepare("a-active")
        let a = try s.upperDirectory("a-active")
        sh("""
            cd \(a) && mkdir -p d/e && echo data > d/file && chown 1000:1001 d/file && chmod 4755 d/file && \
            ln d/file d/hard && ln -s ../d/file d/e/sym && chown -h 1002:1003 d/e/sym && mknod d/null c 1 3 && \
            mkfifo d/fifo && chmod 2710 d/e && python3 -c "import os; os.setxattr('d/file', 'user.k', b'v1'); os.setxattr('d', 'trusted.t', b'v2')" && \
            touch -h -d '2001-02-03 04:05:06' d/e/sym d/file d/e d
            """)
        try s.commit("a", key: "a-active")
        _ = try s.prepare("b", parent: "a")
        let b = try s.upperDirectory("b")
        #expect(compareTrees(a, b) == "")
    }
}
