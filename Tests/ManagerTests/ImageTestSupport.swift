// What the image tests beyond ImageCommandsTests need: a berthd with a config
// file of the test's, optionally seeing an /etc/hosts of the test's (so a
// registry on 127.0.0.1 can have a real, non-loopback name and be reached over
// verified HTTPS) or running on a small tmpfs; a CA and server certificate
// made with openssl; images with chosen layers, dates, labels and platforms
// pushed to a test registry.

import Content
import Foundation
import Glibc
import OCI
import Registry
@testable import Manager

/// A berthd on temp directories with `dir/etc/berthd.json` as its config. With
/// `hosts`, it runs in a mount namespace of its own (`unshare -m`) where that
/// text is bind-mounted over /etc/hosts; nothing outside that namespace sees
/// it. With `tmpfsSize`, its root is a tmpfs of that size. The CLI keeps its
/// credentials in `dir/cli` (BERTH_CONFIG).
final class ImageDaemon: @unchecked Sendable {
    let dir: String
    var root: String { dir + "/root" }
    var state: String { dir + "/state" }
    var socket: String { dir + "/state/berthd.sock" }
    var logPath: String { dir + "/berthd.log" }
    var configDirectory: String { dir + "/etc" }
    var configPath: String { configDirectory + "/berthd.json" }
    var cliConfig: String { dir + "/cli" }
    let hosts: String?
    var bridge = ""
    private var process: Foundation.Process?
    private var mounted = false

    init(config: String = "{}", hosts: String? = nil, tmpfsSize: String? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("berthd-img-\(UUID().uuidString.prefix(8))").path
        self.hosts = hosts
        for d in [dir, configDirectory, root, cliConfig] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        // A default bridge and subnet of its own (TestBridge).
        let (json, bridge) = TestBridge.configure(config)
        self.bridge = bridge
        try json.write(toFile: configPath, atomically: true, encoding: .utf8)
        if let hosts { try hosts.write(toFile: dir + "/hosts", atomically: true, encoding: .utf8) }
        if let tmpfsSize {
            let r = Subprocess.run(["mount", "-t", "tmpfs", "-o", "size=\(tmpfsSize),mode=0711", "berth-test", root])
            guard r.status == 0 else { throw TestFailure("mount tmpfs: \(r.output)") }
            mounted = true
        }
    }

    func start() throws {
        let p = Foundation.Process()
        let args = ["--root", root, "--state", state, "--socket", socket, "--config", configPath]
        if hosts != nil {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            p.arguments = ["-m", "--propagation", "private", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
                           dir + "/hosts", DaemonProcessTests.berthd] + args
        } else {
            p.executableURL = URL(fileURLWithPath: DaemonProcessTests.berthd)
            p.arguments = args
        }
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        process = p
        try waitUntil("berthd to listen on \(socket)") { UnixSocketListener.probe(socket) == .live || !p.isRunning }
        guard p.isRunning else { throw TestFailure("berthd exited: \(self.log)") }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process?.isRunning ?? false }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() throws -> Int32 {
        guard let p = process else { return -1 }
        try DaemonProcessTests.terminate(p, log: { self.log })
        process = nil
        return p.terminationStatus
    }

    func berth(_ args: [String]) throws -> DaemonProcessTests.Result {
        try DaemonProcessTests.run(DaemonProcessTests.berth, ["-H", "unix://" + socket] + args, env: ["BERTH_CONFIG": cliConfig])
    }

    /// `berth ARGS` started in the background (a pull to interrupt); `finish` waits for it.
    func berthInBackground(_ args: [String]) throws -> Background {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: DaemonProcessTests.berth)
        p.arguments = ["-H", "unix://" + socket] + args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "BERTH_HOST")
        env["BERTH_CONFIG"] = cliConfig
        p.environment = env
        let out = dir + "/bg-\(UUID().uuidString.prefix(6))"
        _ = FileManager.default.createFile(atPath: out + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: out + ".err", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out + ".out")
        p.standardError = FileHandle(forWritingAtPath: out + ".err")
        try p.run()
        return Background(process: p, output: out)
    }

    struct Background {
        let process: Foundation.Process
        let output: String
        func finish() throws -> DaemonProcessTests.Result {
            try waitLong("berth to finish") { !process.isRunning }
            let o = (try? String(contentsOfFile: output + ".out", encoding: .utf8)) ?? ""
            let e = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
            return DaemonProcessTests.Result(status: process.terminationStatus, out: o, err: e)
        }
    }

    /// Bytes in the partial downloads under content/ingest.
    var ingestBytes: [Int64] {
        let ingest = root + "/content/ingest"
        return ImageCommandsTests.files(ingest).compactMap { key in
            (try? FileManager.default.attributesOfItem(atPath: ingest + "/" + key + "/data"))?[.size] as? Int64
        }
    }

    /// One value from metadata.db (sqlite3 reads beside the running daemon: WAL mode).
    func sql(_ query: String) -> String {
        Subprocess.run(["sqlite3", "-readonly", root + "/metadata.db", query]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        if let p = process { DaemonProcessTests.terminateOrKill(p) }
        if mounted { _ = Subprocess.run(["umount", "-l", root]) }
        TestBridge.remove(bridge)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// A test CA and a server certificate it signed for `names` (DNS subjectAltNames), made
/// with the openssl command (EC P-256 keys: quick to make).
struct TestCertificates {
    let directory: String
    var ca: String { directory + "/ca.crt" }
    var certificate: String { directory + "/server.crt" }
    var key: String { directory + "/server.key" }

    init(names: [String]) throws {
        directory = Subprocess.tempDir("certs")
        let d = directory
        try Subprocess.writeFile(d + "/ca.cnf", """
            [req]
            distinguished_name = dn
            x509_extensions = v3_ca
            prompt = no
            [dn]
            CN = Berth Test CA
            [v3_ca]
            basicConstraints = critical, CA:TRUE
            keyUsage = critical, keyCertSign, cRLSign
            subjectKeyIdentifier = hash

            """)
        try Subprocess.writeFile(d + "/server.ext", """
            basicConstraints = CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = \(names.map { "DNS:" + $0 }.joined(separator: ", "))

            """)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["openssl", "req", "-x509", "-config", d + "/ca.cnf"] + ec + ["-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2"],
            ["openssl", "req", "-new", "-subj", "/CN=\(names[0])"] + ec + ["-keyout", d + "/server.key", "-out", d + "/server.csr"],
            ["openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", d + "/server.ext", "-out", d + "/server.crt"],
        ]
        for s in steps {
            let r = Subprocess.run(s)
            guard r.status == 0 else { throw TestFailure("\(s.prefix(3).joined(separator: " ")): \(r.output)") }
        }
    }

    func remove() { Subprocess.run(["rm", "-rf", directory]) }
}

/// Images with the layers, date, labels and platform a test wants, pushed to a registry.
enum ImageFixtures {
    struct Pushed { var manifest: Digest; var config: Digest; var layers: [Descriptor] }

    static func requireTools(_ tools: [String] = []) throws {
        guard TestRegistry.available, TestImageBuilder.busyboxAvailable else {
            throw TestFailure("docker-registry, busybox-static, tar and gzip are needed (make test installs them)")
        }
        for t in tools where !Subprocess.which(t) { throw TestFailure("\(t) is needed (make test installs it)") }
    }

    /// A directory holding `files` (path → content).
    static func directory(_ files: [String: String]) throws -> String {
        let dir = Subprocess.tempDir("files")
        for (path, text) in files {
            let parent = (dir + "/" + path).split(separator: "/").dropLast().joined(separator: "/")
            Subprocess.run(["mkdir", "-p", "/" + parent])
            try Subprocess.writeFile(dir + "/" + path, text)
        }
        return dir
    }

    /// Builds an image (a busybox layer, then one layer per entry of `layers`) into `store`.
    static func build(into store: ContentStore, layers: [[String: String]] = [], extraLayers: [TestImageBuilder.Layer] = [],
                      created: String = "2026-01-01T00:00:00Z", labels: [String: String] = ["org.berth.test": "1"],
                      platform: Platform = .host) throws -> TestImageBuilder.Image {
        let rootfs = try TestImageBuilder.busyboxRootfs()
        defer { Subprocess.run(["rm", "-rf", rootfs]) }
        var built = [try TestImageBuilder.layer(from: rootfs, into: store)]
        for files in layers {
            let dir = try directory(files)
            defer { Subprocess.run(["rm", "-rf", dir]) }
            built.append(try TestImageBuilder.layer(from: dir, into: store))
        }
        built += extraLayers
        return try TestImageBuilder.image(layers: built, into: store, platform: platform, created: created, labels: labels)
    }

    /// Builds and pushes an image as `host/name`.
    @discardableResult
    static func push(to host: String, _ name: String, layers: [[String: String]] = [], extraLayers: [TestImageBuilder.Layer] = [],
                     created: String = "2026-01-01T00:00:00Z", labels: [String: String] = ["org.berth.test": "1"],
                     store: ContentStore? = nil, credentials: (any CredentialProvider)? = nil) async throws -> Pushed {
        let scratch = store == nil ? Subprocess.tempDir("push-store") : nil
        defer { if let scratch { Subprocess.run(["rm", "-rf", scratch]) } }
        let store = try store ?? ContentStore(root: scratch!)
        let image = try build(into: store, layers: layers, extraLayers: extraLayers, created: created, labels: labels)
        let client = RegistryClient(credentials: credentials)
        try await client.push(image.manifest, from: store, to: try client.parse(host + "/" + name))
        return Pushed(manifest: image.manifest.digest, config: image.config.digest, layers: image.layers)
    }

    /// Where docker-registry's filesystem driver keeps a blob's bytes.
    static func registryBlobPath(_ registry: TestRegistry, _ digest: Digest) -> String {
        let hex = digest.encoded
        return registry.directory + "/data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }
}

/// `waitUntil` for what takes longer than its five seconds (a pull retrying a dead
/// registry); the limit only keeps a broken run from hanging.
func waitLong(_ what: String, seconds: Int = 180, _ cond: () -> Bool) throws {
    let deadline = Clock.monotonicMillis() + Int64(seconds) * 1000
    while !cond() {
        if Clock.monotonicMillis() > deadline { throw TestFailure("timed out waiting for \(what)") }
        usleep(10_000)
    }
}
