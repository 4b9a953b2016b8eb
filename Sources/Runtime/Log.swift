import CBerth
import Glibc
import OCI

/// runc's `--log`/`--log-format` contract: errors (and, with --debug, debug lines)
/// go to the log file as logrus text or JSON lines `{"level","msg","time"}`.
/// containerd reads the last "error" line of this file into its own errors.
public struct RuntimeLog: Sendable {
    public enum Format: String, Sendable { case text, json }
    public var path: String?
    public var format: Format = .text
    public var debug = false

    public init(path: String? = nil, format: Format = .text, debug: Bool = false) {
        self.path = path
        self.format = format
        self.debug = debug
    }

    public func error(_ msg: String) { write("error", msg) }
    public func warning(_ msg: String) {
        write("warning", msg)
        if path == nil { cb_write_stderr("berth-runtime: warning: \(msg)\n") }
    }
    public func debug(_ msg: String) { if debug { write("debug", msg) } }

    private func write(_ level: String, _ msg: String) {
        guard let path else { return }
        let line: String
        switch format {
        case .json:
            line = JSONWriter.write(["level": .string(level), "msg": .string(msg), "time": .string(Clock.rfc3339())]) + "\n"
        case .text:
            line = "time=\"\(Clock.rfc3339())\" level=\(level) msg=\(JSONWriter.quote(msg))\n"
        }
        let fd = cb_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        try? FS.writeAll(fd, Array(line.utf8), what: path)
        close(fd)
    }
}
