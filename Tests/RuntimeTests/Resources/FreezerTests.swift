// pause freezes every process of the container (a counter stops), resume
// thaws them (it goes on).

import Foundation
import Glibc
import Testing

@Suite("Resources: freezer")
struct FreezerTests {
    @Test func pauseStopsACounterAndResumeRestartsIt() throws {
        let sb = try Sandbox("freeze")
        defer { sb.cleanup() }
        // The counter is replaced atomically (write, then rename): a read never
        // sees the empty file of a truncate-and-write.
        let id = try startDetached(sb, "freeze", args: ["sh", "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.02; done"])
        // /tmp is the rootfs's own directory in the base config: readable from here.
        let countFile = sb.bundle + "/rootfs/tmp/count"
        func count() -> Int { Int(readFile(countFile)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1 }
        /// Polls until `condition` holds (a safety deadline, not a timing assertion).
        func eventually(_ condition: () -> Bool) -> Bool {
            for _ in 0..<500 { if condition() { return true }; usleep(20_000) }
            return condition()
        }
        #expect(eventually { count() > 0 }, "the counter runs")
        #expect(sb.run(["pause", id]).status == 0)
        #expect(sb.status(id) == "paused")
        let frozen = count()
        usleep(500_000)
        #expect(count() == frozen, "no step while paused")
        #expect(sb.run(["resume", id]).status == 0)
        #expect(sb.status(id) == "running")
        #expect(eventually { count() > frozen }, "counting again after resume")
    }
}
