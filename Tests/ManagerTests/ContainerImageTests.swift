// Images and the containers that use them (issue 5's "rmi refuses an image in
// use" and "save then load then run"), through the real berth and berthd.
import Foundation
import Glibc
import Testing
@testable import Manager

@Suite(.serialized) struct ContainerImageTests {
    @Test func rmiRefusesAnImageInUseAndSaveLoadRun() async throws {
        try await offPool {
            let d = try ContainerRestartTests.daemonWithImage()
            var r = try d.berth(["create", "--name", "user", "bb:1", "sh", "-c", "echo from the image"])
            #expect(r.status == 0, "\(r.err)")
            // Docker's refusal while a container (even a stopped one) uses the image.
            r = try d.berth(["rmi", "bb:1"])
            #expect(r.status == 1)
            #expect(r.err.contains("conflict: unable to remove repository reference \"bb:1\" (must force) - container "), "\(r.err)")
            // Saved, forced away (the image stays, untagged, for its container), loaded back, run.
            let archive = d.dir + "/bb.tar"
            r = try d.berth(["save", "-o", archive, "bb:1"])
            #expect(r.status == 0, "\(r.err)")
            r = try d.berth(["rmi", "-f", "bb:1"])
            #expect(r.status == 0 && r.out.contains("Untagged: bb:1"), "\(r.out)\(r.err)")
            r = try d.berth(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(r.out == "<none>:<none>\n", "the image stays for its container: \(r.out)")
            r = try d.berth(["start", "-a", "user"])
            #expect(r.out == "from the image\n", "\(r.out)\(r.err)")
            r = try d.berth(["load", "-i", archive])
            #expect(r.status == 0, "\(r.err)")
            r = try d.berth(["run", "--rm", "bb:1", "sh", "-c", "echo loaded and run"])
            #expect(r.status == 0 && r.out == "loaded and run\n", "\(r.out)\(r.err)")
            r = try d.berth(["rm", "user"])
            #expect(r.status == 0, "\(r.err)")
            r = try d.berth(["rmi", "bb:1"])
            #expect(r.status == 0, "no container uses it any more: \(r.err)")
        }
    }
}
