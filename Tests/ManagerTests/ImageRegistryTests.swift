// Registries as a user meets them through `berth` and a running berthd: HTTPS
// with a CA of the test's (daemon config `caFiles`, or certs.d), mirrors of the
// default registry, --platform from a two-platform index, and login/logout
// against htpasswd and bearer-token registries.

import Content
import Foundation
import Glibc
import Registry
import Testing
@testable import Manager

@Suite(.serialized) struct ImageRegistryTests {
    static let tlsName = "registry.berth-test"
    static let hosts = "127.0.0.1 localhost\n127.0.0.1 \(tlsName)\n"

    @Test func httpsRegistryWithTheDaemonsCAFilesAndCertsD() async throws {
        try ImageFixtures.requireTools(["openssl", "unshare"])
        let certs = try TestCertificates(names: [Self.tlsName])
        defer { certs.remove() }
        let plain = try TestRegistry()
        defer { plain.stop() }
        let pushed = try await ImageFixtures.push(to: plain.host, "test/secure:1", layers: [["etc/motd": "over tls\n"]])
        let tls = try TestRegistry(tls: (certs.certificate, certs.key))
        defer { tls.stop() }
        let secure = "\(Self.tlsName):\(tls.port)/test/secure"

        // Trusted through caFiles: push over HTTPS, then pull it back.
        try await offPool {
            let d = try ImageDaemon(config: "{\"caFiles\": [\"\(certs.ca)\"]}", hosts: Self.hosts)
            try d.start()
            #expect(try d.berth(["pull", "-q", plain.host + "/test/secure:1"]).status == 0)
            #expect(try d.berth(["tag", plain.host + "/test/secure:1", secure + ":1"]).status == 0)
            var r = try d.berth(["push", secure + ":1"])
            #expect(r.status == 0 && r.out.contains("1: digest: \(pushed.manifest)"), "\(r.out) \(r.err)")
            #expect(try d.berth(["rmi", secure + ":1", plain.host + "/test/secure:1"]).status == 0)
            r = try d.berth(["pull", secure + ":1"])
            #expect(r.status == 0 && r.out.contains("Digest: \(pushed.manifest)"), "\(r.out) \(r.err)")
            #expect(try d.berth(["images", "-q"]).out == pushed.config.short + "\n")
            #expect(try d.stop() == 0)
        }

        // Not trusted: refused with one line naming the certificate problem; nothing stored.
        try await offPool {
            let d = try ImageDaemon(hosts: Self.hosts)
            try d.start()
            var r = try d.berth(["pull", secure + ":1"])
            let lines = r.err.split(separator: "\n")
            #expect(r.status == 1 && lines.count == 1, "\(r.err)")
            #expect(r.err.hasPrefix("Error response from daemon: ") && r.err.contains("tls: failed to verify certificate")
                    && r.err.contains("certificate problem"), "\(r.err)")
            #expect(r.err.contains("\(d.configDirectory)/certs.d/\(Self.tlsName):\(tls.port)/ca.crt"), "the error says where a CA goes: \(r.err)")
            #expect(!r.out.contains("Pulling from"), "\(r.out)")
            #expect(ImageCommandsTests.files(d.root + "/content/blobs/sha256").isEmpty)

            // Docker's certs.d convention beside the config file: trusted from the next request on.
            let certsD = "\(d.configDirectory)/certs.d/\(Self.tlsName):\(tls.port)"
            try FileManager.default.createDirectory(atPath: certsD, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: certs.ca, toPath: certsD + "/ca.crt")
            r = try d.berth(["pull", secure + ":1"])
            #expect(r.status == 0 && r.out.contains("Digest: \(pushed.manifest)"), "\(r.out) \(r.err)")

            // A registry that speaks plain HTTP where HTTPS is expected: Docker's words, at once.
            r = try d.berth(["pull", "\(Self.tlsName):\(plain.port)/test/secure:1"])
            #expect(r.status == 1 && r.err.contains("server gave HTTP response to HTTPS client") && r.err.split(separator: "\n").count == 1,
                    "\(r.err)")
            #expect(try d.stop() == 0)
        }
    }

    @Test func mirrorsServeTheDefaultRegistryOnly() async throws {
        try ImageFixtures.requireTools()
        let mirror = try TestRegistry()
        defer { mirror.stop() }
        let upstream = try TestRegistry()
        defer { upstream.stop() }
        let dead = Subprocess.freePort()
        // On the mirror only, on the default registry only, and Docker Hub's library/busybox on the mirror.
        let onMirror = try await ImageFixtures.push(to: mirror.host, "busybox:1", layers: [["m": "mirror\n"]])
        let onUpstream = try await ImageFixtures.push(to: upstream.host, "tool:1", layers: [["u": "upstream\n"]])
        let hub = try await ImageFixtures.push(to: mirror.host, "library/busybox:latest", layers: [["h": "hub\n"]])

        try await offPool {
            let config = "{\"defaultRegistry\": \"\(upstream.host)\", \"registryMirrors\": [\"http://127.0.0.1:\(dead)\", \"http://\(mirror.host)/\"]}"
            let d = try ImageDaemon(config: config)
            try d.start()
            // The first mirror is down, the second has it: pulled from there, named after the default registry.
            var r = try d.berth(["pull", "busybox:1"])
            #expect(r.status == 0 && r.out.contains("Digest: \(onMirror.manifest)"), "\(r.out) \(r.err)")
            #expect(r.out.hasSuffix("\(upstream.host)/busybox:1\n"), "\(r.out)")
            // No mirror has it: the default registry serves it.
            r = try d.berth(["pull", "tool:1"])
            #expect(r.status == 0 && r.out.contains("Digest: \(onUpstream.manifest)"), "\(r.out) \(r.err)")
            r = try d.berth(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
            #expect(Set(r.out.split(separator: "\n").map(String.init))
                    == ["\(upstream.host)/busybox:1 \(onMirror.config.short)", "\(upstream.host)/tool:1 \(onUpstream.config.short)"], "\(r.out)")
            // Nobody has it: the default registry's error.
            r = try d.berth(["pull", "nothing:1"])
            #expect(r.status == 1 && r.err.contains("nothing") && r.err.split(separator: "\n").count == 1, "\(r.err)")
            // Another registry never goes through the mirrors, though the mirror has busybox:1.
            r = try d.berth(["pull", "127.0.0.1:\(dead)/busybox:1"])
            #expect(r.status == 1 && r.err.hasPrefix("Error response from daemon:"), "\(r.err)")
            #expect(try d.stop() == 0)
        }

        // Docker's case: mirrors of docker.io. `busybox` is library/busybox, found on the mirror offline.
        try await offPool {
            let d = try ImageDaemon(config: "{\"registryMirrors\": [\"http://\(mirror.host)\"]}")
            try d.start()
            var r = try d.berth(["pull", "busybox"])
            #expect(r.status == 0 && r.out.contains("latest: Pulling from library/busybox") && r.out.contains("Digest: \(hub.manifest)"),
                    "\(r.out) \(r.err)")
            #expect(r.out.hasSuffix("docker.io/library/busybox:latest\n"), "\(r.out)")
            r = try d.berth(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
            #expect(r.out == "busybox:latest \(hub.config.short)\n", "\(r.out)")
            r = try d.berth(["info"])
            #expect(r.out.contains("Registry Mirrors:") && r.out.contains("http://\(mirror.host)"), "\(r.out)")
            #expect(try d.stop() == 0)
        }

        // A mirror that is not an http(s) URL is a configuration error.
        try await offPool {
            let d = try ImageDaemon(config: "{\"registryMirrors\": [\"\(mirror.host)\"]}")
            #expect(throws: (any Error).self) { try d.start() }
            #expect(d.log.contains("registryMirrors: invalid mirror"), "\(d.log)")
        }
    }

    @Test func platformChoosesFromAnIndex() async throws {
        try ImageFixtures.requireTools()
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = Subprocess.tempDir("index-store")
        defer { Subprocess.run(["rm", "-rf", scratch]) }
        let store = try ContentStore(root: scratch)
        let host = Platform.host
        let other = host.architecture == "arm64" ? Platform(os: "linux", architecture: "amd64")
                                                 : Platform(os: "linux", architecture: "arm64")
        let mine = try ImageFixtures.build(into: store, layers: [["arch": "host\n"]], platform: host)
        let theirs = try ImageFixtures.build(into: store, layers: [["arch": "other\n"]], platform: other)
        let index = try TestImageBuilder.index([(mine.manifest, host), (theirs.manifest, other)], into: store)
        let client = RegistryClient()
        try await client.push(index, from: store, to: try client.parse(registry.host + "/test/multi:1"))

        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            let repo = registry.host + "/test/multi:1"
            var r = try d.berth(["pull", "--platform", "\(other.os)/\(other.architecture)", repo])
            #expect(r.status == 0 && r.out.contains("Digest: \(index.digest)"), "\(r.out) \(r.err)")
            r = try d.berth(["image", "inspect", "--format", "{{.Id}} {{.Os}}/{{.Architecture}}", repo])
            #expect(r.out == "\(theirs.config.digest) \(other.os)/\(other.architecture)\n", "\(r.out) \(r.err)")
            #expect(ImageCommandsTests.find(d.root + "/snapshots", "arch").flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } == "other\n")
            #expect(try d.berth(["images", "-q"]).out == theirs.config.digest.short + "\n")
            // Without --platform: the host's, under the same name.
            r = try d.berth(["pull", repo])
            #expect(r.status == 0, "\(r.out) \(r.err)")
            #expect(r.out.contains("Status: Downloaded newer image"), "another image under the same name: \(r.out)")
            r = try d.berth(["image", "inspect", "--format", "{{.Id}} {{.Architecture}}", repo])
            #expect(r.out == "\(mine.config.digest) \(host.architecture)\n", "\(r.out) \(r.err)")
            // As Docker: the other platform's image stays, dangling.
            r = try d.berth(["images", "--filter", "dangling=true", "-q"])
            #expect(r.out == theirs.config.digest.short + "\n", "\(r.out)")
            // A platform the index lacks: Docker's error, nothing recorded.
            r = try d.berth(["pull", "--platform", "linux/s390x", registry.host + "/test/multi:1"])
            #expect(r.status == 1 && r.err == "Error response from daemon: no matching manifest for linux/s390x in the manifest list entries\n", "\(r.err)")
            r = try d.berth(["pull", "--platform", "linux/", repo])
            #expect(r.status == 1 && r.err.contains("invalid platform"), "\(r.err)")
            #expect(try d.stop() == 0)
        }
    }

    @Test func loginPullPushLogoutWithBasicAuth() async throws {
        try ImageFixtures.requireTools(["htpasswd"])
        let registry = try TestRegistry(auth: .basic(user: "alice", password: "s3cret"))
        defer { registry.stop() }
        let creds = StaticCredentials([registry.host: Credentials(username: "alice", password: "s3cret")])
        let pushed = try await ImageFixtures.push(to: registry.host, "test/private:1", layers: [["p": "private\n"]], credentials: creds)
        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            try Self.loginFlow(d, server: registry.host, user: "alice", password: "s3cret", pushed: pushed,
                               wrongPassword: "Error response from daemon: login attempt to http://\(registry.host)/v2/ failed with status: 401 Unauthorized\n")
        }
    }

    @Test func loginPullPushLogoutWithABearerTokenServer() async throws {
        try ImageFixtures.requireTools(["python3", "openssl"])
        let (tokens, certificate) = try HelperServer.tokenServer(user: "bob", password: "t0ken")
        let registry = try TestRegistry(auth: .token(realm: "http://127.0.0.1:\(tokens.port)/token", certificate: certificate))
        defer { registry.stop() }
        let creds = StaticCredentials([registry.host: Credentials(username: "bob", password: "t0ken")])
        let pushed = try await ImageFixtures.push(to: registry.host, "test/private:1", layers: [["p": "private\n"]], credentials: creds)
        try await offPool {
            let d = ImageDaemon.make()
            try d.start()
            try Self.loginFlow(d, server: registry.host, user: "bob", password: "t0ken", pushed: pushed,
                               wrongPassword: "Error response from daemon: Get \"http://\(registry.host)/v2/\": unauthorized: incorrect username or password\n",
                               anonymousPull: true)
        }
        withExtendedLifetime(tokens) {}
    }

    /// Login refused with a wrong password, accepted with the right one (credentials file
    /// 0600), pull and push with it, logout, and back to where it started.
    static func loginFlow(_ d: ImageDaemon, server: String, user: String, password: String, pushed: ImageFixtures.Pushed,
                          wrongPassword: String, anonymousPull: Bool = false) throws {
        let repo = server + "/test/private"
        // Before login: a push (and, without anonymous pull, a pull) is refused.
        var r = try d.berth(["pull", repo + ":1"])
        if anonymousPull {
            #expect(r.status == 0, "the token server gives anonymous pull: \(r.err)")
            #expect(try d.berth(["rmi", repo + ":1"]).status == 0)
        } else {
            #expect(r.status == 1 && r.err.contains("unauthorized: authentication required") && !r.err.contains("unauthorized: unauthorized")
                    && r.err.split(separator: "\n").count == 1, "\(r.err)")
        }
        r = try d.berth(["login", "-u", user, "-p", "wrong", server])
        #expect(r.status == 1 && r.err.hasSuffix(wrongPassword), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: d.cliConfig + "/auth.json"), "a refused login stores nothing")
        r = try d.berth(["login", "-u", user, "--password-stdin", server], stdin: password + "\n")
        #expect(r.status == 0 && r.out == "Login Succeeded\n", "\(r.out) \(r.err)")
        let attributes = try FileManager.default.attributesOfItem(atPath: d.cliConfig + "/auth.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        r = try d.berth(["pull", repo + ":1"])
        #expect(r.status == 0 && r.out.contains("Digest: \(pushed.manifest)"), "\(r.out) \(r.err)")
        #expect(try d.berth(["tag", repo + ":1", repo + ":2"]).status == 0)
        r = try d.berth(["push", repo + ":2"])
        #expect(r.status == 0 && r.out.contains("2: digest: \(pushed.manifest)"), "\(r.out) \(r.err)")
        r = try d.berth(["logout", server])
        #expect(r.status == 0 && r.out == "Removing login credentials for \(server)\n", "\(r.out) \(r.err)")
        r = try d.berth(["logout", server])
        #expect(r.status == 0 && r.out == "Not logged in to \(server)\n", "\(r.out)")
        r = try d.berth(["push", repo + ":2"])
        #expect(r.status == 1 && (r.err.contains("unauthorized") || r.err.contains("denied")), "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        #expect(try d.stop() == 0)
    }
}

extension ImageDaemon {
    /// A daemon with the default configuration (the tests' helpers throw only on a broken machine).
    static func make() -> ImageDaemon { try! ImageDaemon() }

    func berth(_ args: [String], stdin: String) throws -> DaemonProcessTests.Result {
        let input = dir + "/stdin-\(UUID().uuidString.prefix(6))"
        try stdin.write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: DaemonProcessTests.berth)
        p.arguments = ["-H", "unix://" + socket] + args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "BERTH_HOST")
        env["BERTH_CONFIG"] = cliConfig
        p.environment = env
        p.standardInput = FileHandle(forReadingAtPath: input)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return DaemonProcessTests.Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self),
                                         err: String(decoding: e, as: UTF8.self))
    }
}
