import ContainerSpec
import Foundation
import Testing

@Suite struct UserResolverTests {
    func rootfs() throws -> TempDir {
        let dir = try TempDir("user")
        try dir.write("etc/passwd", samplePasswd)
        try dir.write("etc/group", sampleGroup)
        return dir
    }

    @Test func emptyIsRoot() throws {
        let dir = try rootfs()
        let u = try UserResolver.resolve("", rootfs: dir.path)
        #expect(u == ResolvedUser(uid: 0, gid: 0, additionalGids: [0], home: "/root"))
    }

    @Test func nameWithSupplementaryGroups() throws {
        let dir = try rootfs()
        let u = try UserResolver.resolve("app", rootfs: dir.path)
        #expect(u.uid == 1000 && u.gid == 1000)
        #expect(u.additionalGids == [1000, 10, 29])
        #expect(u.home == "/home/app")
    }

    @Test func numericUidFindsTheEntry() throws {
        let dir = try rootfs()
        let u = try UserResolver.resolve("1000", rootfs: dir.path)
        #expect(u.uid == 1000 && u.gid == 1000 && u.home == "/home/app")
    }

    @Test func nameAndGroup() throws {
        let dir = try rootfs()
        let u = try UserResolver.resolve("app:staff", rootfs: dir.path)
        #expect(u.uid == 1000 && u.gid == 50)
        // An explicit group means no supplementary groups (runc's rule).
        #expect(u.additionalGids == [50])
    }

    @Test func numericWithoutEntries() throws {
        let dir = try rootfs()
        let u = try UserResolver.resolve("4242:4343", rootfs: dir.path)
        #expect(u == ResolvedUser(uid: 4242, gid: 4343, additionalGids: [4343], home: "/"))
        let empty = try TempDir("nofiles")
        let v = try UserResolver.resolve("1234:5678", rootfs: empty.path)
        #expect(v.uid == 1234 && v.gid == 5678)
    }

    @Test func unknownUserAndGroup() throws {
        let dir = try rootfs()
        #expect(throws: ContainerSpecError(.unknownUser, "unable to find user ghost: no matching entries in passwd file")) {
            try UserResolver.resolve("ghost", rootfs: dir.path)
        }
        #expect(throws: ContainerSpecError(.unknownUser, "unable to find group ghosts: no matching entries in group file")) {
            try UserResolver.resolve("app:ghosts", rootfs: dir.path)
        }
        let empty = try TempDir("nofiles")
        #expect(throws: ContainerSpecError(.unknownUser, "unable to find user app: no matching entries in passwd file")) {
            try UserResolver.resolve("app", rootfs: empty.path)
        }
    }

    /// An image whose /etc/passwd points out of the rootfs (absolute or with ..) reads its
    /// own files: the link is resolved with the rootfs as "/".
    @Test func symlinkEscapeIsContained() throws {
        let outside = try TempDir("outside")
        try outside.write("secret", "eve:x:0:0:evil:/:/bin/sh\n")
        let dir = try TempDir("escape")
        try dir.write("etc/group", sampleGroup)
        try dir.symlink("etc/passwd", to: outside.path + "/secret")
        // The same absolute path inside the rootfs does not exist: no entries.
        #expect(throws: ContainerSpecError(.unknownUser, "unable to find user eve: no matching entries in passwd file")) {
            try UserResolver.resolve("eve", rootfs: dir.path)
        }
        // A relative climb stops at the rootfs's "/", and finds the rootfs's own file there.
        let dir2 = try TempDir("escape2")
        try dir2.write("secret", "inside:x:7:7::/in:/bin/sh\n")
        try dir2.symlink("etc/passwd", to: "../../../../../../../.." + outside.path + "/secret")
        try dir2.symlink("etc/passwd2", to: "../../../../../../../../secret")
        let text = try RootfsFile.read("/etc/passwd2", in: dir2.path)
        #expect(text == "inside:x:7:7::/in:/bin/sh\n")
        #expect(throws: ContainerSpecError.self) { try UserResolver.resolve("eve", rootfs: dir2.path) }
    }

    @Test func fifoIsRefusedNotWaitedOn() throws {
        let dir = try TempDir("fifo")
        try FileManager.default.createDirectory(atPath: dir.path + "/etc", withIntermediateDirectories: true)
        #expect(mkfifo(dir.path + "/etc/passwd", 0o644) == 0)
        #expect(throws: ContainerSpecError.self) { try UserResolver.resolve("app", rootfs: dir.path) }
    }
}
