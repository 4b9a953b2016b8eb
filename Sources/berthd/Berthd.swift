import ArgumentParser
import Glibc
import Manager
import RPC

/// berthd, the manager daemon: argument parsing and wiring only; the daemon's
/// life is Manager's Daemon (docs/berthd-api.md).
@main
struct Berthd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berthd",
        abstract: "The Berth manager daemon: images, content, snapshots and containers, served over a unix socket.",
        version: "berthd version \(BuildInfo.version)")

    @Option(help: ArgumentHelp("Persistent state: content, snapshots, metadata.", valueName: "dir"))
    var root = "/var/lib/berth"

    @Option(help: ArgumentHelp("Volatile state: container bundles, runtime state.", valueName: "dir"))
    var state = "/run/berth"

    @Option(help: ArgumentHelp("The API socket (mode 0660, group berth when it exists).", valueName: "path"))
    var socket = BerthAPIDefaults.socket

    @Option(help: ArgumentHelp("The configuration file (JSON; default \(DaemonConfig.defaultPath) when it exists).", valueName: "file"))
    var config: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("debug, info, warn or error (overrides the configuration file).", valueName: "level"))
    var logLevel: String?

    func run() throws {
        // Before anything can start a thread: every thread inherits the mask,
        // so the shutdown signals reach only waitForShutdownSignal.
        Daemon.blockShutdownSignals()
        // Every running container costs berthd two descriptors (its shim's events
        // connection and pidfd): the soft limit (1024) would cap it near 500.
        var nofile = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile) == 0, nofile.rlim_cur < nofile.rlim_max {
            nofile.rlim_cur = nofile.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &nofile)
        }
        do {
            let cfg = try DaemonConfig.load(config ?? DaemonConfig.defaultPath, required: config != nil)
            let levelName = logLevel ?? cfg.logLevel
            guard let level = Logger.Level(name: levelName) else {
                throw DaemonError("--log-level: unknown level \"\(levelName)\" (debug, info, warn, error)")
            }
            var options = DaemonOptions()
            options.root = absolute(root)
            options.state = absolute(state)
            options.socket = absolute(socket)
            let daemon = Daemon(options: options, config: cfg, logger: Logger(level: level))
            try daemon.prepare()
            try registerServices(on: daemon)
            try daemon.serve()
            daemon.waitForShutdownSignal()
            daemon.stop()
        } catch let e as DaemonError {
            let line = Array("berthd: \(e.message)\n".utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            Glibc.exit(1)
        }
    }

    /// Paths are made absolute: they are printed by `info` and compared with
    /// what other processes see.
    private func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
