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
        let here = #filePath
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

    static func fakeRegistry() throws -> HelperServer {
        let port = Subprocess.freePort()
        return try HelperServer(args: ["fake", String(port)], port: port, directory: Subprocess.tempDir("fake"))
    }

    deinit {
        kill(pid, SIGKILL)
        _ = Subprocess.wait(pid)
        Subprocess.run(["rm", "-rf", directory])
    }
}
