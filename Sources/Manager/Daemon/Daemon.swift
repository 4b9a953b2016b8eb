import Glibc
import OCI
import RPC
import Synchronization

/// berthd's life: prepare (directories, the root's lock), register the
/// services' methods on `server`, serve (the socket), wait for SIGTERM or
/// SIGINT, stop (let requests finish briefly, remove the socket, unlock).
///
///     Daemon.blockShutdownSignals()          // first, before any thread starts
///     let daemon = Daemon(options: o, config: c, logger: log)
///     try daemon.prepare()
///     ImageService(...).register(on: daemon)  // the services add methods and info
///     try daemon.serve()
///     daemon.waitForShutdownSignal()
///     daemon.stop()
public final class Daemon: Sendable {
    public let options: DaemonOptions
    public let config: DaemonConfig
    public let logger: Logger
    public let server: APIServer
    public let host: HostInfo

    /// Fills part of `info`'s answer: a service's counts, the storage driver.
    public typealias InfoContributor = @Sendable (inout BerthAPI.InfoResult) async throws -> Void

    /// Work a service finishes at shutdown, after the last request: called
    /// with the deadline (Clock.monotonicMillis) it must end by.
    public typealias StopHandler = @Sendable (_ deadlineMillis: Int64) -> Void

    private let contributors = Mutex<[InfoContributor]>([])
    private let stopHandlers = Mutex<[StopHandler]>([])
    private let lock: Mutex<DaemonLock?> = Mutex(nil)
    private let engineID = Mutex("")
    /// The inode of the socket we bound, so that stop removes ours and not a successor's.
    private let socketInode = Mutex<ino_t?>(nil)

    public init(options: DaemonOptions, config: DaemonConfig, logger: Logger) {
        self.options = options
        self.config = config
        self.logger = logger
        self.server = APIServer(logger: logger)
        self.host = HostInfo.read()
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every
    /// thread it starts later, so that they are delivered only to
    /// `waitForShutdownSignal`; ignores SIGPIPE (writes use MSG_NOSIGNAL, but
    /// a library might not). Call it first thing in main.
    public static func blockShutdownSignals() {
        var set = shutdownSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    private static func shutdownSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }

    public func addInfoContributor(_ c: @escaping InfoContributor) { contributors.withLock { $0.append(c) } }
    public func addStopHandler(_ h: @escaping StopHandler) { stopHandlers.withLock { $0.append(h) } }

    /// Creates the root (0700) and state (0711) directories, takes the root's
    /// lock, and registers the built-in methods `version` and `info`.
    public func prepare() throws(DaemonError) {
        try Daemon.makeDirectory(options.root, mode: 0o700)
        let l = DaemonLock(path: options.root + "/berthd.lock")
        try l.acquire()
        lock.withLock { $0 = l }
        try Daemon.makeDirectory(options.state, mode: 0o711)
        engineID.withLock { $0 = Daemon.loadEngineID(options.root + "/engine-id") }
        registerSystemMethods()
    }

    /// Checks the socket path (another live berthd: an error; a stale socket:
    /// removed) and starts serving on it.
    public func serve() throws(DaemonError) {
        let path = options.socket
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try Daemon.makeDirectory(String(path[..<slash]), mode: 0o711)
        }
        switch UnixSocketListener.probe(path) {
        case .none: break
        case .live:
            throw DaemonError("another berthd is already serving \(path) (a process accepts connections on it)")
        case .notSocket:
            throw DaemonError("\(path) exists and is not a socket; remove it or choose another --socket")
        case .stale:
            if unlink(path) != 0 { throw DaemonError.errno("remove stale socket \(path)") }
            logger.warn("removed stale socket", ["socket": path])
        }
        var gid: gid_t?
        if !options.socketGroup.isEmpty, let g = getgrnam(options.socketGroup) { gid = g.pointee.gr_gid }
        try server.listen(on: path, mode: 0o660, group: gid)
        IdleTrimmer.start(server)
        var st = stat()
        if lstat(path, &st) == 0 { socketInode.withLock { $0 = st.st_ino } }
        logger.info("berthd started", [
            "version": BuildInfo.version, "pid": String(getpid()), "root": options.root,
            "state": options.state, "socket": path, "group": gid == nil ? "" : options.socketGroup,
        ])
    }

    /// Waits for SIGTERM or SIGINT (SIGHUP is logged and ignored: nothing is
    /// reloadable yet). Returns the signal.
    @discardableResult
    public func waitForShutdownSignal() -> Int32 {
        var set = Daemon.shutdownSignals()
        while true {
            var sig: Int32 = 0
            let rc = sigwait(&set, &sig)
            if rc != 0 { continue }
            if sig == SIGHUP {
                logger.info("SIGHUP ignored: berthd has nothing to reload yet")
                continue
            }
            logger.info("shutting down", ["signal": sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : String(sig)])
            return sig
        }
    }

    /// Stops serving: requests in flight and then the services' stop handlers
    /// share `shutdownGraceMillis` to finish; the socket is removed, the lock released.
    public func stop() {
        let deadline = Clock.monotonicMillis() + options.shutdownGraceMillis
        let cut = server.shutdown(graceMillis: options.shutdownGraceMillis)
        if cut > 0 { logger.warn("requests still running at shutdown were canceled", ["count": String(cut)]) }
        for h in stopHandlers.withLock({ $0 }) { h(deadline) }
        if let ino = socketInode.withLock({ $0 }) {
            var st = stat()
            if lstat(options.socket, &st) == 0, st.st_ino == ino { unlink(options.socket) }
        }
        lock.withLock { l in
            l?.release()
            l = nil
        }
        logger.info("berthd stopped")
    }

    // MARK: version and info

    public func versionResult() -> BerthAPI.VersionResult {
        BerthAPI.VersionResult(version: BuildInfo.version, apiVersion: BerthAPI.version, minAPIVersion: BerthAPI.minimumVersion,
                               gitCommit: BuildInfo.gitCommit, swiftVersion: BuildInfo.swiftVersion,
                               os: BuildInfo.os, arch: BuildInfo.arch, kernelVersion: host.kernelVersion)
    }

    public func infoResult() async throws -> BerthAPI.InfoResult {
        var r = BerthAPI.InfoResult()
        r.id = engineID.withLock { $0 }
        r.name = host.hostname
        r.serverVersion = BuildInfo.version
        r.apiVersion = BerthAPI.version
        r.pid = Int(getpid())
        r.root = options.root
        r.stateDir = options.state
        r.socket = options.socket
        r.cgroupVersion = host.cgroupVersion
        r.kernelVersion = host.kernelVersion
        r.operatingSystem = host.operatingSystem
        r.architecture = host.machine
        r.ncpu = host.ncpu
        r.memTotal = host.memTotal
        r.defaultRegistry = config.defaultRegistry
        r.insecureRegistries = config.insecureRegistries
        r.registryMirrors = config.registryMirrors
        r.logLevel = logger.level.name
        r.debug = logger.level == .debug
        for c in contributors.withLock({ $0 }) { try await c(&r) }
        return r
    }

    private func registerSystemMethods() {
        server.register(.version) { [self] (_: NoParams, _) in versionResult() }
        server.register(.info) { [self] (_: NoParams, _) in try await infoResult() }
    }

    // MARK: Files

    /// mkdir -p; the last component gets `mode` when it is created (an
    /// existing directory keeps the mode its owner gave it), parents 0755.
    static func makeDirectory(_ path: String, mode: mode_t) throws(DaemonError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw DaemonError("\(path) exists and is not a directory") }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]), mode: 0o755)
        }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw DaemonError.errno("mkdir \(path)") }
        // mkdir's mode is filtered by the umask; the mode asked for is the one wanted.
        _ = chmod(path, mode)
    }

    /// A random id for this installation, kept in ROOT/engine-id (Docker's "ID").
    static func loadEngineID(_ path: String) -> String {
        if let f = fopen(path, "r") {
            defer { fclose(f) }
            var line = [CChar](repeating: 0, count: 64)
            if fgets(&line, Int32(line.count), f) != nil {
                let s = String(decoding: line.prefix(while: { $0 != 0 && $0 != 10 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if s.count == 36 { return s }
            }
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        if let r = fopen("/dev/urandom", "r") {
            _ = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, 16, r) }
            fclose(r)
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // a version 4 UUID
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { b in String(b >> 4, radix: 16) + String(b & 0xF, radix: 16) }.joined()
        let chars = Array(hex)
        let id = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
        let tmp = path + ".tmp"
        if let f = fopen(tmp, "w") {
            fputs(id + "\n", f)
            fclose(f)
            rename(tmp, path)
        }
        return id
    }
}
