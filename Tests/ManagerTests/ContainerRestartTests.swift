// berthd's containers surviving what happens to berthd, to a shim and to the
// host (issue 6, "Surviving restarts"), as a user sees it: containers run
// through the real berthd, berth-shim and berth-runtime binaries; berthd and
// shims are killed with SIGKILL; a reboot is simulated by killing everything
// and emptying berthd's state directory (/run on a real host).
import Foundation
import Glibc
import OCI
import RPC
import Testing
@testable import Manager

@Suite(.serialized) struct ContainerRestartTests {
    typealias Daemon = DaemonProcessTests.Daemon

    /// A berthd with a busybox image named `bb:1` (imported from the host's busybox-static).
    static func daemonWithImage() throws -> Daemon {
        guard TestImageBuilder.busyboxAvailable else { throw TestFailure("busybox-static is needed (make test installs it)") }
        let d = Daemon()
        try d.start()
        let rootfs = try TestImageBuilder.busyboxRootfs()
        let tarball = d.dir + "/rootfs.tar"
        #expect(Subprocess.run(["tar", "-C", rootfs, "-cf", tarball, "."]).status == 0)
        let r = try d.berth(["import", tarball, "bb:1"])
        guard r.status == 0 else { throw TestFailure("import failed: \(r.err)") }
        return d
    }

    static func client(_ d: Daemon) throws -> BerthClient { try BerthClient(host: "unix://" + d.socket) }

    /// `run -d` through the API: create + start (`start: false`: create only); the id.
    @discardableResult
    static func runDetached(_ d: Daemon, name: String, _ cmd: [String], restart: String = "no", autoRemove: Bool = false,
                            start: Bool = true) throws -> String {
        let c = try client(d)
        var config = BerthAPI.ContainerConfig()
        config.cmd = cmd
        var host = BerthAPI.HostConfig()
        let parts = restart.split(separator: ":")
        host.restartPolicy = BerthAPI.RestartPolicy(name: String(parts[0]), maximumRetryCount: parts.count > 1 ? Int(parts[1])! : 0)
        if autoRemove { host.autoRemove = true }
        let created: BerthAPI.ContainerCreateResult = try c.call(.containerCreate, BerthAPI.ContainerCreateParams(name: name, image: "bb:1", config: config, hostConfig: host))
        if start { let _: NoParams = try c.call(.containerStart, BerthAPI.ContainerRef(id: created.id)) }
        return created.id
    }

    static func inspect(_ d: Daemon, _ id: String) throws -> JSONValue {
        try client(d).call(BerthMethod.containerInspect.rawValue, ["id": .string(id)])
    }

    static func state(_ d: Daemon, _ id: String) throws -> (status: String, exitCode: Int, restarts: Int) {
        let v = try inspect(d, id)
        return (v["State"]?["Status"]?.stringValue ?? "?", Int(v["State"]?["ExitCode"]?.int64Value ?? -1),
                Int(v["RestartCount"]?.int64Value ?? -1))
    }

    static func logLines(_ d: Daemon, _ id: String) throws -> [String] {
        let c = try client(d)
        var lines: [String] = []
        c.onNotification = { method, params in
            if method == "log", let s = params?["log"]?.stringValue { lines.append(s) }
        }
        _ = try c.call(BerthMethod.containerLogs.rawValue, ["id": .string(id)])
        return lines
    }

    static func waitFor(_ what: String, seconds: Int = 15, _ cond: () throws -> Bool) throws {
        let deadline = Clock.monotonicMillis() + Int64(seconds) * 1000
        while try !cond() {
            if Clock.monotonicMillis() > deadline { throw TestFailure("timed out waiting for \(what)") }
            usleep(50_000)
        }
    }

    /// The shim's pid, from the bundle's shim.json.
    static func shimPid(_ d: Daemon, _ id: String) throws -> pid_t {
        let data = try Data(contentsOf: URL(fileURLWithPath: d.state + "/containers/\(id)/shim.json"))
        guard let v = try? JSONParser.parse(Array(data)), let pid = v["pid"]?.int64Value else { throw TestFailure("no shim pid for \(id)") }
        return pid_t(pid)
    }

    static func killBerthd(_ d: Daemon) {
        guard let p = d.process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        d.process = nil
    }

    @Test func berthdKilledWithContainersRunningFindsThemAgain() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { _ = try? Self.client(d).call(BerthMethod.containerRemove.rawValue, ["id": "ticker", "force": true]) }
            let ticker = try Self.runDetached(d, name: "ticker", ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done"])
            let exiter = try Self.runDetached(d, name: "exiter", ["sh", "-c", "sleep 1; exit 3"])
            Self.killBerthd(d)
            // While berthd is away: the ticker goes on writing, the exiter exits.
            usleep(2_000_000)
            try d.start()
            #expect(try Self.state(d, ticker).status == "running")
            try Self.waitFor("the exit seen while berthd was away") { try Self.state(d, exiter).status == "exited" }
            #expect(try Self.state(d, exiter).exitCode == 3)
            // The new berthd controls the old task: stop goes through the reconnected shim.
            let _: NoParams = try Self.client(d).call(.containerStop, BerthAPI.ContainerStopParams(id: "ticker", timeout: 5))
            #expect(try Self.state(d, ticker).status == "exited")
            // No log line is lost: the numbers run without a gap across berthd's death.
            let lines = try Self.logLines(d, ticker)
            #expect(lines.count > 30, "\(lines.count) lines")
            for (i, l) in lines.enumerated() where l != "line \(i)\n" {
                Issue.record("log line \(i) is \(l.debugDescription)")
                break
            }
            #expect(try Self.state(d, ticker).status == "exited")
        }
    }

    @Test func restartPolicyGoesOnAcrossBerthdDeath() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            defer { _ = try? Self.client(d).call(BerthMethod.containerRemove.rawValue, ["id": "flappy", "force": true]) }
            let id = try Self.runDetached(d, name: "flappy", ["sh", "-c", "sleep 0.3; exit 1"], restart: "always")
            try Self.waitFor("a first restart") { try Self.state(d, id).restarts >= 1 }
            Self.killBerthd(d)
            usleep(1_000_000)
            try d.start()
            let before = try Self.state(d, id).restarts
            try Self.waitFor("restarts after berthd came back") { try Self.state(d, id).restarts > before }
        }
    }

    @Test func killedShimShowsTheContainerKilled() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            let id = try Self.runDetached(d, name: "victim", ["sh", "-c", "sleep 1000"])
            let pid = try Self.shimPid(d, id)
            kill(pid, SIGKILL)
            try Self.waitFor("the container to be seen dead") { try Self.state(d, id).status == "exited" }
            // berth-shim delete collected it: killed with its shim (Docker's 137), nothing left mounted.
            #expect(try Self.state(d, id).exitCode == 137)
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            #expect(!mounts.contains(d.state + "/containers/" + id), "the rootfs is unmounted")
            let _: NoParams = try Self.client(d).call(.containerStart, BerthAPI.ContainerRef(id: id))
            #expect(try Self.state(d, id).status == "running", "it starts again")
            let _: NoParams = try Self.client(d).call(.containerRemove, BerthAPI.ContainerRemoveParams(id: id, force: true))
        }
    }

    @Test func hostRebootShowsExitedAndRestartsAlways() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            let always = try Self.runDetached(d, name: "always", ["sh", "-c", "sleep 1000"], restart: "always")
            let stopped = try Self.runDetached(d, name: "stopped", ["sh", "-c", "sleep 1000"], restart: "unless-stopped")
            let plain = try Self.runDetached(d, name: "plain", ["sh", "-c", "sleep 1000"])
            let _: NoParams = try Self.client(d).call(.containerStop, BerthAPI.ContainerStopParams(id: "stopped", timeout: 1))
            // The "reboot": berthd, shims and containers gone, the state directory (/run) emptied.
            var inits: [Int64] = []
            for id in [always, plain] { inits.append(try Self.inspect(d, id)["State"]?["Pid"]?.int64Value ?? 0) }
            let shims = try [always, plain].map { try Self.shimPid(d, $0) }
            Self.killBerthd(d)
            for p in shims { kill(p, SIGKILL) }
            for p in inits where p > 0 { kill(pid_t(p), SIGKILL) }
            usleep(200_000)
            for id in [always, plain] { umount2(d.state + "/containers/\(id)/rootfs", Int32(MNT_DETACH)) }
            try? FileManager.default.removeItem(atPath: d.state)
            try d.start()
            #expect(try Self.state(d, plain).status == "exited")
            #expect(try Self.state(d, plain).exitCode == 255)
            #expect(try Self.state(d, always).status == "running", "restart=always starts with berthd")
            #expect(try Self.state(d, stopped).status == "exited", "unless-stopped stays stopped after a user's stop")
            for id in [always, stopped, plain] {
                let _: NoParams = try Self.client(d).call(.containerRemove, BerthAPI.ContainerRemoveParams(id: id, force: true))
            }
        }
    }

    /// dockerd's restore: `--rm` containers that do not run when berthd starts
    /// (the host rebooted under them, or they were never started) are removed,
    /// their layers too. One whose shim survived berthd's death goes on running.
    @Test func hostRebootRemovesRmContainers() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            let layers = d.root + "/snapshots/snapshots/overlayfs"
            let layersBefore = try FileManager.default.contentsOfDirectory(atPath: layers).sorted()
            let gone = try Self.runDetached(d, name: "gone", ["sh", "-c", "sleep 1000"], autoRemove: true)
            _ = try Self.runDetached(d, name: "unstarted", ["true"], autoRemove: true, start: false)
            let initPid = try Self.inspect(d, gone)["State"]?["Pid"]?.int64Value ?? 0
            let shim = try Self.shimPid(d, gone)
            Self.killBerthd(d)
            kill(shim, SIGKILL)
            if initPid > 0 { kill(pid_t(initPid), SIGKILL) }
            usleep(200_000)
            // The rootfs went with the shim's mount namespace.
            try? FileManager.default.removeItem(atPath: d.state)
            try d.start()
            let list: [JSONValue] = try Self.client(d).call(BerthMethod.containerList.rawValue, ["all": true]).arrayValue ?? []
            #expect(list.isEmpty, "\(list)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: layers).sorted() == layersBefore)

            // berthd killed, the host up: the --rm container runs on and is removed when it ends.
            let survivor = try Self.runDetached(d, name: "survivor", ["sh", "-c", "sleep 1000"], autoRemove: true)
            Self.killBerthd(d)
            try d.start()
            #expect(try Self.state(d, survivor).status == "running")
            let _: NoParams = try Self.client(d).call(.containerKill, BerthAPI.ContainerKillParams(id: survivor, signal: "KILL"))
            try Self.waitFor("the survivor's removal") {
                (try Self.client(d).call(BerthMethod.containerList.rawValue, ["all": true]).arrayValue ?? []).isEmpty
            }
        }
    }

    /// berthd removes a `--rm` container's record at its exit and tears the
    /// rest down afterwards; killed in between, it leaves a bundle, a shim,
    /// layers and a log directory without a record. The next berthd collects
    /// them. (The record is deleted by hand here, berthd killed first.)
    @Test func leftoversOfAnInterruptedRmTeardownAreCollected() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            let layers = d.root + "/snapshots/snapshots/overlayfs"
            let layersBefore = try FileManager.default.contentsOfDirectory(atPath: layers).sorted()
            let id = try Self.runDetached(d, name: "torn", ["sh", "-c", "sleep 1000"], autoRemove: true)
            let shim = try Self.shimPid(d, id)
            Self.killBerthd(d)
            let del = Subprocess.run(["sqlite3", d.root + "/metadata.db", "DELETE FROM containers WHERE id = '\(id)'"])
            #expect(del.status == 0, "\(del)")
            try d.start()
            #expect((try Self.client(d).call(BerthMethod.containerList.rawValue, ["all": true]).arrayValue ?? []).isEmpty)
            try Self.waitFor("the shim to go") { kill(shim, 0) != 0 }
            #expect(!FileManager.default.fileExists(atPath: d.state + "/containers/" + id))
            #expect(!FileManager.default.fileExists(atPath: d.root + "/containers/" + id))
            #expect(try FileManager.default.contentsOfDirectory(atPath: layers).sorted() == layersBefore)
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            #expect(!mounts.contains(d.state + "/"), "nothing of it mounted")
        }
    }

    @Test func onFailureBacksOffAndStopsAtItsMaximum() async throws {
        try await offPool {
            let d = try Self.daemonWithImage()
            let id = try Self.runDetached(d, name: "failing", ["sh", "-c", "exit 2"], restart: "on-failure:4")
            try Self.waitFor("four restarts", seconds: 20) {
                let s = try Self.state(d, id)
                return s.restarts == 4 && s.status == "exited"
            }
            #expect(try Self.state(d, id).exitCode == 2)
            // The starts: the gaps between them grow (100 ms doubling).
            let c = try Self.client(d)
            var starts: [Int64] = []
            c.onNotification = { method, params in
                if method == "event", params?["Action"]?.stringValue == "start",
                   params?["Actor"]?["ID"]?.stringValue == id, let t = params?["timeNano"]?.int64Value, !starts.contains(t) {
                    starts.append(t)
                }
            }
            _ = try c.call(BerthMethod.systemEvents.rawValue, ["since": "0", "until": .string(String(Int(Date().timeIntervalSince1970) + 1))])
            let startEvents = starts.sorted()
            #expect(startEvents.count >= 5, "\(startEvents.count) start events")
            if startEvents.count >= 5 {
                let gaps = zip(startEvents.dropFirst(), startEvents).map { $0 - $1 }
                #expect(gaps.last! > gaps.first!, "back-off grows: \(gaps)")
            }
            let _: NoParams = try c.call(.containerRemove, BerthAPI.ContainerRemoveParams(id: id, force: true))
        }
    }
}
