import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real CNCF registry (Debian's docker-registry) on 127.0.0.1 with its storage in a temp
/// dir: plain, with htpasswd basic auth, or with token auth against `TokenServer`.
final class TestRegistry: Sendable {
    enum Auth: Sendable {
        case none
        case basic(user: String, password: String)
        case token(realm: String, certificate: String)
    }

    let port: Int
    let directory: String
    let configPath: String
    private let pid = Mutex<pid_t>(0)

    var host: String { "127.0.0.1:\(port)" }

    static var available: Bool { Subprocess.which("docker-registry") }

    /// `tls`: serve HTTPS with this certificate and key (PEM files).
    init(auth: Auth = .none, tls: (certificate: String, key: String)? = nil) throws {
        port = Subprocess.freePort()
        directory = Subprocess.tempDir("registry")
        configPath = directory + "/config.yml"
        var config = """
        version: 0.1
        log:
          level: error
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: \(directory)/data
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)

        """
        if let tls {
            config += "  tls:\n    certificate: \(tls.certificate)\n    key: \(tls.key)\n"
        }
        switch auth {
        case .none: break
        case .basic(let user, let password):
            let r = Subprocess.run(["htpasswd", "-Bbn", user, password])
            guard r.status == 0 else { throw TestFailure("htpasswd: \(r.output)") }
            try Subprocess.writeFile(directory + "/htpasswd", r.output.split(separator: "\n").first.map(String.init)! + "\n")
            config += "auth:\n  htpasswd:\n    realm: basic-realm\n    path: \(directory)/htpasswd\n"
        case .token(let realm, let certificate):
            config += "auth:\n  token:\n    realm: \(realm)\n    service: berth-test-registry\n    issuer: berth-test-issuer\n    rootcertbundle: \(certificate)\n"
        }
        try Subprocess.writeFile(configPath, config)
        try start()
    }

    func start() throws {
        let p = Subprocess.spawn(["docker-registry", "serve", configPath], log: directory + "/registry.log")
        guard p > 0 else { throw TestFailure("cannot start docker-registry") }
        pid.withLock { $0 = p }
        guard Subprocess.waitForPort(port) else {
            let log = (try? Subprocess.readAll(directory + "/registry.log")).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw TestFailure("docker-registry did not listen on \(port): \(log)")
        }
    }

    /// SIGKILL, as a crash would; safe to call from any thread (a transfer's callback).
    func kill() {
        let p = pid.withLock { p -> pid_t in let old = p; p = 0; return old }
        if p > 0 {
            Glibc.kill(p, SIGKILL)
            _ = Subprocess.wait(p)
        }
    }

    func stop() {
        kill()
        Subprocess.run(["rm", "-rf", directory])
    }

    deinit { stop() }
}
