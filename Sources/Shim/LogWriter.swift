import Glibc
import OCI
import RPC

/// The container's output as JSON lines, one object per line of output,
/// like Docker's json-file driver:
///   {"stream":"stdout","time":"2026-11-24T07:30:00.123456789Z","log":"hello\n"}
/// A line longer than `maxLineBytes` is split into several records (only the
/// last one ends in "\n"); a partial last line is written at end of stream.
/// Rotation by size: before a record would take the file past `maxSize`, the
/// file becomes PATH.1 (PATH.1 becomes PATH.2, ...) and at most `maxFiles`
/// files are kept, PATH included. maxSize 0 means no rotation.
final class LogWriter {
    let path: String
    let maxSize: Int64
    let maxFiles: Int
    static let maxLineBytes = 16 * 1024
    private var fd: Int32
    private var size: Int64
    private var partial: [String: [UInt8]] = [:]

    init(path: String, maxSize: Int64, maxFiles: Int) throws(RPCError) {
        self.path = path
        self.maxSize = max(0, maxSize)
        self.maxFiles = max(1, maxFiles)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        if fd < 0 { throw Sys.fail("open log \(path)") }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Bytes read from `stream` ("stdout" or "stderr").
    func append(_ stream: String, _ bytes: ArraySlice<UInt8>) {
        var pending = partial[stream] ?? []
        pending.append(contentsOf: bytes)
        var start = 0
        var i = 0
        while i < pending.count {
            if pending[i] == 0x0A {
                record(stream, pending[start...i])
                start = i + 1
            } else if i - start + 1 >= LogWriter.maxLineBytes {
                record(stream, pending[start...i])
                start = i + 1
            }
            i += 1
        }
        partial[stream] = start < pending.count ? Array(pending[start...]) : []
    }

    /// End of `stream`: its partial last line, if any, is written.
    func flush(_ stream: String) {
        if let p = partial[stream], !p.isEmpty { record(stream, p[...]) }
        partial[stream] = []
    }

    private func record(_ stream: String, _ text: ArraySlice<UInt8>) {
        var line = "{\"stream\":\"\(stream)\",\"time\":\"\(Clock.rfc3339())\",\"log\":"
        JSONWriter.quote(String(decoding: text, as: UTF8.self), into: &line)
        line += "}\n"
        let bytes = Array(line.utf8)
        if maxSize > 0, size > 0, size + Int64(bytes.count) > maxSize { rotate() }
        if Sys.writeAll(fd, bytes) { size += Int64(bytes.count) }
    }

    private func rotate() {
        if maxFiles <= 1 {
            _ = ftruncate(fd, 0)
            size = 0
            return
        }
        unlink("\(path).\(maxFiles - 1)")
        var n = maxFiles - 2
        while n >= 1 { rename("\(path).\(n)", "\(path).\(n + 1)"); n -= 1 }
        rename(path, "\(path).1")
        close(fd)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0o640)
        size = 0
    }
}
