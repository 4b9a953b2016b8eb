import Glibc
import OCI
import Synchronization

/// berthd's log: one logfmt line per event on stderr, the way containerd and
/// dockerd write theirs:
///
///     time="2026-11-24T07:30:00.123456789Z" level=info msg="berthd started" pid=4100
///
/// Each line goes out in one write(2), so lines from concurrent requests never
/// interleave. The level can change at run time (a config reload, `--debug`).
public final class Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case debug, info, warn, error

        public init?(name: String) {
            switch name.lowercased() {
            case "debug", "trace": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error", "fatal", "panic": self = .error
            default: return nil
            }
        }

        public var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warn: return "warning"
            case .error: return "error"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    private let minimum: Atomic<Int>
    private let fd: Int32

    public init(level: Level = .info, fd: Int32 = STDERR_FILENO) {
        minimum = Atomic(level.rawValue)
        self.fd = fd
    }

    public var level: Level {
        get { Level(rawValue: minimum.load(ordering: .relaxed)) ?? .info }
        set { minimum.store(newValue.rawValue, ordering: .relaxed) }
    }

    public func isEnabled(_ l: Level) -> Bool { l.rawValue >= minimum.load(ordering: .relaxed) }

    public func debug(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]) {
        log(.debug, message(), fields())
    }
    public func info(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]) {
        log(.info, message(), fields())
    }
    public func warn(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]) {
        log(.warn, message(), fields())
    }
    public func error(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]) {
        log(.error, message(), fields())
    }

    public func log(_ level: Level, _ message: @autoclosure () -> String, _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]) {
        guard isEnabled(level) else { return }
        let line = Logger.format(time: Clock.rfc3339(), level: level, message: message(), fields: Array(fields()))
        let bytes = Array(line.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    /// One logfmt line, newline included. Values are quoted when they hold
    /// a space, a quote, an equals sign or nothing at all.
    static func format(time: String, level: Level, message: String, fields: [(String, String)]) -> String {
        var s = "time=\"\(time)\" level=\(level.name) msg=\(quoted(message, always: true))"
        for (k, v) in fields { s += " \(k)=\(quoted(v, always: false))" }
        return s + "\n"
    }

    private static func quoted(_ v: String, always: Bool) -> String {
        let plain = !v.isEmpty && v.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F }
        return plain && !always ? v : JSONWriter.quote(v)
    }
}
