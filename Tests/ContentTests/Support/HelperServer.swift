import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `helper_server.py` run by a test: a bearer token server or a misbehaving fake registry.
final class HelperServer: Sendable {
    let port: Int
    let pid: pid_t
    let directory: String

    static var script: String {
        // Through the symlink other test targets use, to the directory that holds the script.
        var here = #filePath
        if let real = realpath(here, nil) { here = String(cString: real); free(real) }
        return String(here[..<here.lastIndex(of: "/")!]) + "/helper_server.py"
    }

    static var available: Bool { Subprocess.which("python3") && Subprocess.which("openssl") }

    private init(args: [String], port: Int, directory: String) throws {
        self.port = port
        self.directory = directory
        pid = Subprocess.spawn(["python3", HelperServer.script] + args, log: directory + "/helper.log")
        guard pid > 0, Subprocess.waitForPort(port) else {
            let log = (try? Subprocess.readAll(directory + "/helper.log")).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw TestFailure("helper server did not start: \(log)")
        }
    }

    /// A token server; `certificate` is what the registry must trust (its rootcertbundle).
    static func tokenServer(user: String, password: String) throws -> (HelperServer, certificate: String) {
        let dir = Subprocess.tempDir("token")
        let r = Subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem",
                                "-out", dir + "/cert.pem", "-days", "2", "-subj", "/CN=berth-test-token"])
        guard r.status == 0 else { throw TestFailure("openssl: \(r.output)") }
        let port = Subprocess.freePort()
        let s = try HelperServer(args: ["token", String(port), dir + "/key.pem", dir + "/cert.pem", user, password],
                                 port: port, directory: dir)
        return (s, dir + "/cert.pem")
    }

    /// A front for `upstream` (a registry port) that sends blob bodies at `rate` bytes a second
    /// (0: unthrottled) and logs each request (`requests`); `port` 0 picks a free one.
    static func proxy(to upstream: Int, rate: Int, port: Int = 0) throws -> HelperServer {
        let port = port == 0 ? Subprocess.freePort() : port
        let dir = Subprocess.tempDir("proxy")
        return try HelperServer(args: ["proxy", String(port), String(upstream), String(rate), dir + "/requests.log"],
                                port: port, directory: dir)
    }

    /// The proxy's request log: one "METHOD PATH range=RANGE sent=BYTES" line per finished request.
    var requests: [String] {
        ((try? Subprocess.readAll(directory + "/requests.log")).map { String(decoding: $0, as: UTF8.self) } ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// SIGKILL, as a crash would, keeping the log (the directory goes with the object).
    func kill() {
        Glibc.kill(pid, SIGKILL)
        _ = Subprocess.wait(pid)
    }

    static func fakeRegistry() throws -> HelperServer {
        let port = Subprocess.freePort()
        return try HelperServer(args: ["fake", String(port)], port: port, directory: Subprocess.tempDir("fake"))
    }

    deinit {
        Glibc.kill(pid, SIGKILL)
        _ = Subprocess.wait(pid)
        Subprocess.run(["rm", "-rf", directory])
    }
}
