import Glibc
import OCI
import RPC
import Synchronization
import Testing
@testable import Manager

/// The JSON-RPC server in-process: a real unix socket in a temp directory,
/// BerthClient or raw bytes on the other end.
@Suite struct DaemonServerTests {
    struct CountParams: Codable { var n: Int }
    struct Tick: Codable, Equatable { var step: Int; var status: String }
    struct CountResult: Codable, Equatable { var done: Int }

    /// A server on a fresh socket; the directory is removed by `finish`.
    final class Fixture {
        let dir: String
        let path: String
        let server: APIServer

        init() throws {
            var template = Array("/tmp/berthd-test-XXXXXX".utf8CString)
            guard let p = mkdtemp(&template) else { throw DaemonError("mkdtemp failed") }
            dir = String(cString: p)
            path = dir + "/s.sock"
            server = APIServer(logger: Logger(level: .error))
        }

        func start() throws { try server.listen(on: path, mode: 0o600, group: nil) }

        deinit {
            server.shutdown(graceMillis: 1000)
            unlink(path)
            rmdir(dir)
        }
    }

    @Test func typedMethodAnswersAndHelloListsIt() async throws {
        try await offPool {
            let f = try Fixture()
            f.server.register(BerthMethod("test.double")) { (p: CountParams, _: RequestContext) in CountResult(done: p.n * 2) }
            try f.start()
            let c = try BerthClient(host: "unix://" + f.path)
            let r: CountResult = try c.call(BerthMethod("test.double"), CountParams(n: 21))
            #expect(r == CountResult(done: 42))
            let hello = try c.hello()
            #expect(hello.version == BerthAPI.version)
            #expect(hello.methods == ["hello", "test.double"])
        }
    }

    @Test func progressNotificationsArriveBeforeTheResultTiedToTheRequest() async throws {
        try await offPool {
            let f = try Fixture()
            f.server.register(BerthMethod("test.count")) { (p: CountParams, ctx: RequestContext) in
                for i in 1...p.n { ctx.progress(Tick(step: i, status: "Downloading")) }
                return CountResult(done: p.n)
            }
            try f.start()
            let c = try BerthClient(host: f.path)
            _ = try c.hello()  // request 1: the count is request 2
            var ticks: [Tick] = []
            var raw: [JSONValue] = []
            let r: CountResult = try c.call(BerthMethod("test.count"), CountParams(n: 5), progress: { (t: Tick) in ticks.append(t) })
            #expect(r.done == 5)
            #expect(ticks == (1...5).map { Tick(step: $0, status: "Downloading") })
            _ = try c.call("test.count", ["n": 1], progress: { raw.append($0) })
            #expect(raw == [["request": 3, "step": 1, "status": "Downloading"]])
        }
    }

    @Test func handlerErrorsKeepTheirCodesAndUnknownErrorsAreInternal() async throws {
        try await offPool {
            struct Oops: Error {}
            let f = try Fixture()
            f.server.register(BerthMethod("test.notFound")) { (_: NoParams, _: RequestContext) -> CountResult in throw BerthError.notFound("No such image: busybox:latest") }
            f.server.register(BerthMethod("test.oops")) { (_: NoParams, _: RequestContext) -> CountResult in throw Oops() }
            try f.start()
            let c = try BerthClient(host: f.path)
            do { _ = try c.call("test.notFound"); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.code == .notFound)
                #expect(error.message == "No such image: busybox:latest")
                #expect(error.fromDaemon)
            }
            do { _ = try c.call("test.oops"); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.code == .internal)
                #expect(error.message.hasPrefix("test.oops: "))
            }
            do { _ = try c.call("no.such"); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.code == .methodNotFound)
                #expect(error.message == "method not found: no.such")
            }
            do { _ = try c.call("test.notFound", ["x": 1]); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.code == .notFound)  // NoParams ignores what it is given
            }
        }
    }

    @Test func invalidParamsNameTheField() async throws {
        try await offPool {
            let f = try Fixture()
            f.server.register(BerthMethod("test.double")) { (p: CountParams, _: RequestContext) in CountResult(done: p.n * 2) }
            try f.start()
            let c = try BerthClient(host: f.path)
            do { _ = try c.call("test.double", ["n": "x"]); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.code == .invalidParams)
                #expect(error.message == "invalid params: n: expected an integer, got the string \"x\"")
            }
            do { _ = try c.call("test.double", [:]); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.message == "invalid params: n: required field is missing")
            }
            do { _ = try c.call("hello", ["version": 99]); Issue.record("expected an error") } catch let error as BerthError {
                #expect(error.code == .unsupportedVersion)
                #expect(error.data?["supported"] == [1])
            }
        }
    }

    @Test func malformedInputIsAnsweredAndTheConnectionSurvives() async throws {
        try await offPool {
            let f = try Fixture()
            try f.start()
            let s = try RawConnection(f.path)
            #expect(try s.exchange("{bad")["error"]?["code"] == -32700)
            #expect(try s.exchange("[1,2]")["error"]?["code"] == -32600)
            #expect(try s.exchange(#"{"jsonrpc":"1.0","id":1,"method":"hello"}"#)["error"]?["code"] == -32600)
            let arrayParams = try s.exchange(#"{"jsonrpc":"2.0","id":7,"method":"hello","params":[1]}"#)
            #expect(arrayParams["id"] == 7)
            #expect(arrayParams["error"]?["code"] == -32602)
            // Notifications from the client get no answer; the next request does.
            try s.send(#"{"jsonrpc":"2.0","method":"whatever"}"#)
            let ok = try s.exchange(#"{"jsonrpc":"2.0","id":"s","method":"hello","params":{"version":1}}"#)
            #expect(ok["id"] == "s")
            #expect(ok["result"]?["server"] == "berthd")
        }
    }

    @Test func aLineOverOneMebibyteIsRefusedAndClosed() async throws {
        try await offPool {
            let f = try Fixture()
            try f.start()
            let s = try RawConnection(f.path)
            try? s.send(String(repeating: "x", count: (1 << 20) + 10), newline: false)
            #expect(try s.readLine()["error"]?["code"] == -32600)
            #expect(try s.readLineOrEOF() == nil)
        }
    }

    @Test func aClientThatGoesAwayCancelsItsRequest() async throws {
        try await offPool {
            let f = try Fixture()
            let sawCancel = Atomic<Bool>(false)
            let started = Atomic<Bool>(false)
            f.server.register(BerthMethod("test.block")) { (_: NoParams, ctx: RequestContext) -> CountResult in
                started.store(true, ordering: .relaxed)
                let deadline = Clock.monotonicMillis() + 5000
                while !ctx.isCancelled && Clock.monotonicMillis() < deadline { try? await Task.sleep(for: .milliseconds(5)) }
                sawCancel.store(ctx.isCancelled && Task.isCancelled, ordering: .relaxed)
                try ctx.checkCancellation()
                return CountResult(done: 0)
            }
            try f.start()
            do {
                let s = try RawConnection(f.path)
                try s.send(#"{"jsonrpc":"2.0","id":1,"method":"test.block"}"#)
                try waitUntil { started.load(ordering: .relaxed) }
            }  // closed here
            try waitUntil { sawCancel.load(ordering: .relaxed) }
            try waitUntil { f.server.inFlight == 0 }
        }
    }

    @Test func aCancelNotificationCancelsOneRequest() async throws {
        try await offPool {
            let f = try Fixture()
            f.server.register(BerthMethod("test.block")) { (_: NoParams, ctx: RequestContext) -> CountResult in
                while !ctx.isCancelled { try await Task.sleep(for: .milliseconds(5)) }
                throw BerthError.canceled("test.block: canceled")
            }
            try f.start()
            let s = try RawConnection(f.path)
            try s.send(#"{"jsonrpc":"2.0","id":9,"method":"test.block"}"#)
            try s.send(#"{"jsonrpc":"2.0","method":"cancel","params":{"request":9}}"#)
            let r = try s.readLine()
            #expect(r["id"] == 9)
            #expect(r["error"]?["code"] == .int(BerthError.Code.canceled.rawValue))
        }
    }

    @Test func shutdownLetsRequestsInFlightFinishAndRefusesNewOnes() async throws {
        try await offPool {
            let f = try Fixture()
            f.server.register(BerthMethod("test.slow")) { (_: NoParams, _: RequestContext) in
                try await Task.sleep(for: .milliseconds(300))
                return CountResult(done: 1)
            }
            try f.start()
            let s = try RawConnection(f.path)
            try s.send(#"{"jsonrpc":"2.0","id":1,"method":"test.slow"}"#)
            try waitUntil { f.server.inFlight == 1 }
            let t0 = Clock.monotonicMillis()
            let cut = f.server.shutdown(graceMillis: 3000)
            #expect(cut == 0)
            #expect(Clock.monotonicMillis() - t0 >= 200)
            #expect(try s.readLine()["result"]?["done"] == 1)
            #expect(try s.readLineOrEOF() == nil)  // closed once idle
            #expect(UnixSocketListener.probe(f.path) != .live)
        }
    }

    @Test func concurrentRequestsOnOneConnectionAreAnsweredByID() async throws {
        try await offPool {
            let f = try Fixture()
            f.server.register(BerthMethod("test.sleep")) { (p: CountParams, _: RequestContext) in
                try await Task.sleep(for: .milliseconds(p.n))
                return CountResult(done: p.n)
            }
            try f.start()
            let s = try RawConnection(f.path)
            try s.send(#"{"jsonrpc":"2.0","id":1,"method":"test.sleep","params":{"n":300}}"#)
            try s.send(#"{"jsonrpc":"2.0","id":2,"method":"test.sleep","params":{"n":1}}"#)
            #expect(try s.readLine()["id"] == 2)
            #expect(try s.readLine()["id"] == 1)
        }
    }

    @Test func loggerWritesLogfmtLines() {
        let line = Logger.format(time: "2026-11-24T07:30:00Z", level: .warn, message: "removed stale socket",
                                 fields: [("socket", "/run/berth/berthd.sock"), ("note", "two words")])
        #expect(line == "time=\"2026-11-24T07:30:00Z\" level=warning msg=\"removed stale socket\" socket=/run/berth/berthd.sock note=\"two words\"\n")
    }

    @Test func configRejectsUnknownKeysAndBadTypes() throws {
        let ok = try DaemonConfig.parse(Array(#"{"defaultRegistry":"registry.local:5000","insecureRegistries":["a:5000"],"logLevel":"debug"}"#.utf8), source: "c.json")
        #expect(ok.defaultRegistry == "registry.local:5000")
        #expect(ok.insecureRegistries == ["a:5000"])
        #expect(ok.registryMirrors == [])
        #expect(throws: DaemonError("c.json: unknown configuration key \"insecure-registries\" (known: bip, bridge, caFiles, defaultRegistry, insecureRegistries, logLevel, registryMirrors)")) {
            try DaemonConfig.parse(Array(#"{"insecure-registries":[]}"#.utf8), source: "c.json")
        }
        #expect(throws: DaemonError("c.json: caFiles: expected an array, got the string \"x\"")) {
            try DaemonConfig.parse(Array(#"{"caFiles":"x"}"#.utf8), source: "c.json")
        }
        #expect(throws: DaemonError("c.json: logLevel: unknown level \"loud\" (debug, info, warn, error)")) {
            try DaemonConfig.parse(Array(#"{"logLevel":"loud"}"#.utf8), source: "c.json")
        }
    }
}

/// Waits up to 5 s for a condition that another thread makes true.
func waitUntil(_ what: String = "condition", timeoutMillis: Int64 = 5000, _ cond: () -> Bool) throws {
    let deadline = Clock.monotonicMillis() + timeoutMillis
    while !cond() {
        if Clock.monotonicMillis() > deadline { throw DaemonError("timed out waiting for \(what)") }
        usleep(2000)
    }
}

/// A unix socket connection that speaks raw lines, for what BerthClient would never send.
final class RawConnection {
    let fd: Int32
    private var framer = LineFramer(maxLine: 4 << 20)

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 { close(fd); throw DaemonError.errno("connect \(path)") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String, newline: Bool = true) throws {
        let bytes = Array((newline ? text + "\n" : text).utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw DaemonError.errno("send") }
            off += n
        }
    }

    func readLineOrEOF() throws -> JSONValue? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let line = try framer.next() { return try JSONParser.parse(line) }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; if errno == ECONNRESET { return nil }; throw DaemonError.errno("read") }
            if n == 0 { return nil }
            framer.append(buf[0..<n])
        }
    }

    func readLine() throws -> JSONValue {
        guard let v = try readLineOrEOF() else { throw DaemonError("the server closed the connection") }
        return v
    }

    func exchange(_ text: String) throws -> JSONValue {
        try send(text)
        return try readLine()
    }
}

/// Runs blocking test code (sockets, sleeps, waiting for processes) on a
/// thread of its own: on Swift concurrency's pool it would starve the Tasks
/// that serve the requests (the pool has one thread per core, two here).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    // The body runs as a job of this task on a thread of its own, so it may block,
    // and it keeps the task's locals: an #expect failing in it is recorded against
    // its test (on a bare thread, swift-testing knows no test and says «unknown»).
    try await withTaskExecutorPreference(ThreadPerJobExecutor()) { try body() }
}

/// Runs each job on a new thread: for blocking test bodies (offPool).
final class ThreadPerJobExecutor: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job), executor = asUnownedTaskExecutor()
        if !Manager.Thread.detach({ job.runSynchronously(on: executor) }) {
            fatalError("cannot start a thread for a test body")
        }
    }
}
