import Glibc

/// Writes to stdout in one write(2) per call (print's buffering would
/// reorder output relative to stderr in tests and pipes).
enum Output {
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    static func line(_ text: String) { write(text + "\n") }
}
