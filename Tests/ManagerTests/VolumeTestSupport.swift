// Support for the volume suites: a berthd with two busybox images, bb:1 and
// vol:1 (the same with `VOLUME /data`, holding a file owned by 1000 with mode
// 0640 and a symlink, to see copy-up keep them).
import Foundation
import Glibc
import Testing
@testable import Manager

enum VolumeTestSupport {
    typealias Daemon = DaemonProcessTests.Daemon

    static func daemon() throws -> Daemon {
        guard TestImageBuilder.busyboxAvailable else { throw TestFailure("busybox-static is needed (make test installs it)") }
        let d = Daemon()
        try d.start()
        let rootfs = try TestImageBuilder.busyboxRootfs()
        for applet in ["sleep", "stat", "readlink", "grep", "touch", "mkdir", "rm", "mount"] {
            symlink("busybox", rootfs + "/bin/" + applet)
        }
        let plain = d.dir + "/bb.tar"
        guard Subprocess.run(["tar", "-C", rootfs, "-cf", plain, "."]).status == 0 else { throw TestFailure("tar") }
        mkdir(rootfs + "/data", 0o755)
        try Subprocess.writeFile(rootfs + "/data/seed", "from the image\n")
        chown(rootfs + "/data/seed", 1000, 1000)
        chmod(rootfs + "/data/seed", 0o640)
        symlink("seed", rootfs + "/data/link")
        let withVolume = d.dir + "/vol.tar"
        guard Subprocess.run(["tar", "--numeric-owner", "-C", rootfs, "-cf", withVolume, "."]).status == 0 else { throw TestFailure("tar") }
        Subprocess.run(["rm", "-rf", rootfs])
        for (tar, ref, changes) in [(plain, "bb:1", [String]()), (withVolume, "vol:1", ["-c", "VOLUME /data"])] {
            let r = try d.berth(["import"] + changes + [tar, ref])
            guard r.status == 0 else { throw TestFailure("import \(ref) failed: \(r.err)") }
        }
        return d
    }

    /// Every container removed (shims outlive berthd), then berthd stopped; the
    /// volumes mounted on use are unmounted by the containers' exits.
    static func finish(_ d: Daemon) {
        ContainerCommandsTests.removeAll(d)
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: d.root + "/volumes")) ?? [] {
            unmountAll(d.root + "/volumes/" + dir + "/_data")
        }
    }

    static func unmountAll(_ path: String) {
        while MountTable.isMountPoint(path) { if umount2(path, Int32(MNT_DETACH)) != 0 { break } }
    }

    /// The names `volume ls -q` prints.
    static func volumes(_ d: Daemon, _ filters: [String] = []) -> [String] {
        ((try? d.berth(["volume", "ls", "-q"] + filters.flatMap { ["--filter", $0] }))?.out ?? "?").split(separator: "\n").map(String.init)
    }

    static func inspect(_ d: Daemon, _ args: [String]) throws -> Any {
        let r = try d.berth(args)
        guard r.status == 0 else { throw TestFailure("\(args): \(r.err)") }
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8))
    }
}
