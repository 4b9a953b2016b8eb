// `berth images --filter` as Docker's: dangling, reference, before, since, label.

import Content
import Foundation
import Glibc
import Registry
import Testing
@testable import Manager

@Suite(.serialized) struct ImageListFilterTests {
    @Test func beforeSinceLabelReferenceAndDangling() async throws {
        try ImageFixtures.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let old = try await ImageFixtures.push(to: registry.host, "test/old:1", layers: [["o": "old\n"]],
                                               created: "2026-01-01T00:00:00Z", labels: ["tier": "base"])
        let mid = try await ImageFixtures.push(to: registry.host, "test/mid:1", layers: [["m": "mid\n"]],
                                               created: "2026-02-01T00:00:00.5Z", labels: ["tier": "app", "team": "x"])
        let new = try await ImageFixtures.push(to: registry.host, "test/new:1", layers: [["n": "new\n"]],
                                               created: "2026-02-01T00:00:00.75Z", labels: ["team": "y=z"])
        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            for name in ["old", "mid", "new"] {
                #expect(try d.berth(["pull", "-q", "\(registry.host)/test/\(name):1"]).status == 0)
            }
            func ids(_ filters: [String]) throws -> [String] {
                let r = try d.berth(["images", "-q"] + filters.flatMap { ["--filter", $0] })
                #expect(r.status == 0, "\(filters): \(r.err)")
                return r.out.split(separator: "\n").map(String.init)
            }
            let (o, m, n) = (old.config.short, mid.config.short, new.config.short)
            #expect(try ids([]) == [n, m, o], "newest first")
            // before= / since= an image, by name or id; within one second too (the configs' fractions count).
            #expect(try ids(["before=\(registry.host)/test/mid:1"]) == [o])
            #expect(try ids(["since=\(registry.host)/test/mid:1"]) == [n])
            #expect(try ids(["since=\(o)", "before=\(n)"]) == [m])
            #expect(try ids(["before=\(o)"]).isEmpty)
            // label=KEY, label=KEY=VALUE (a value may hold "="); several must all match.
            #expect(try ids(["label=team"]) == [n, m])
            #expect(try ids(["label=team=x"]) == [m])
            #expect(try ids(["label=team=y=z"]) == [n])
            #expect(try ids(["label=tier=app", "label=team=x"]) == [m])
            #expect(try ids(["label=tier=base", "label=team"]).isEmpty)
            #expect(try ids(["label=nope"]).isEmpty)
            // With reference= and dangling= as before.
            #expect(try ids(["reference=*/test/mid", "label=team"]) == [m])
            #expect(try ids(["dangling=false", "since=\(o)"]) == [n, m])
            #expect(try ids(["dangling=true"]).isEmpty)
            // Errors, as Docker words them.
            var r = try d.berth(["images", "--filter", "before=nosuch:1"])
            #expect(r.status == 1 && r.err == "Error response from daemon: No such image: nosuch:1\n", "\(r.err)")
            r = try d.berth(["images", "--filter", "colour=red"])
            #expect(r.status == 1 && r.err == "Error response from daemon: invalid filter 'colour'\n", "\(r.err)")
            r = try d.berth(["images", "--filter", "dangling=maybe"])
            #expect(r.status == 1 && r.err == "Error response from daemon: invalid filter 'dangling=maybe'\n", "\(r.err)")
            #expect(try d.stop() == 0)
        }
    }
}
