import FoundationEssentials
import Glibc
import OCI
import RPC

/// `logs`: the JSON-lines log the shim writes (docs/shim-protocol.md, Log
/// format), read back as records: rotated files oldest first, then the
/// current one; with `follow` the current file is watched until the
/// container stops (a rotation is noticed by the file's inode changing).
extension ContainerService {
    struct LogFilter {
        var stdout = true
        var stderr = true
        var since: Int64?
        var until: Int64?

        func keeps(_ r: BerthAPI.LogRecord) -> Bool {
            if r.stream == "stdout" && !stdout { return false }
            if r.stream == "stderr" && !stderr { return false }
            if since != nil || until != nil, let t = ContainerService.nanos(rfc3339: r.time) {
                if let s = since, t < s { return false }
                if let u = until, t > u { return false }
            }
            return true
        }
    }

    /// A time as `--since`/`--until` send it: unix seconds (with a fraction) or RFC 3339.
    static func parseTime(_ s: String) throws -> Int64 {
        if let d = Double(s) { return Int64(d * 1e9) }
        if let n = nanos(rfc3339: s) { return n }
        throw BerthError(.invalidArgument, "invalid time \"\(s)\": expected unix seconds or RFC 3339")
    }

    static func parseRecord(_ line: Substring) -> BerthAPI.LogRecord? {
        guard let v = try? JSONParser.parse(Array(line.utf8)), let stream = v["stream"]?.stringValue,
              let log = v["log"]?.stringValue else { return nil }
        return BerthAPI.LogRecord(stream: stream, time: v["time"]?.stringValue ?? "", log: log)
    }

    func logs(_ entry: ContainerEntry, _ p: BerthAPI.ContainerLogsParams, ctx: RequestContext) throws {
        let r = entry.record
        var filter = LogFilter()
        if p.stdout != nil || p.stderr != nil {
            filter.stdout = p.stdout ?? false
            filter.stderr = p.stderr ?? false
        }
        filter.since = try p.since.flatMap { $0.isEmpty ? nil : try Self.parseTime($0) }
        filter.until = try p.until.flatMap { $0.isEmpty ? nil : try Self.parseTime($0) }
        var tail: Int?
        if let t = p.tail, t != "all", !t.isEmpty {
            guard let n = Int(t), n >= 0 else { throw BerthError(.invalidArgument, "invalid tail value \"\(t)\"") }
            tail = n
        }
        func send(_ rec: BerthAPI.LogRecord) -> Bool { ctx.notify(BerthAPI.StreamNotification.log, value: rec) }

        // What is already written: rotated files (PATH.N … PATH.1), then PATH.
        var files: [String] = []
        var n = 1
        while access(r.logPath + ".\(n)", F_OK) == 0 { files.insert(r.logPath + ".\(n)", at: 0); n += 1 }
        var records: [BerthAPI.LogRecord] = []
        for f in files {
            guard let data = FileManager.default.contents(atPath: f) else { continue }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                if let rec = Self.parseRecord(line), filter.keeps(rec) { records.append(rec) }
            }
        }
        var reader = LogFileReader(path: r.logPath)
        for line in reader.readLines() {
            if let rec = Self.parseRecord(line), filter.keeps(rec) { records.append(rec) }
        }
        if let tail { records = Array(records.suffix(tail)) }
        for rec in records where !send(rec) { return }
        guard p.follow == true else { return }

        // Follow: new lines as they are written, until the container stops and its last lines are read.
        while !ctx.isCancelled {
            let running = entry.locked { $0.task != nil } || entry.record.state.status == .restarting
            for line in reader.readLines() {
                if let rec = Self.parseRecord(line), filter.keeps(rec), !send(rec) { return }
            }
            if !running {
                for line in reader.readLines() {
                    if let rec = Self.parseRecord(line), filter.keeps(rec), !send(rec) { return }
                }
                return
            }
            if let u = filter.until, Self.now() > u { return }
            usleep(50_000)
        }
    }
}

/// Reads complete lines appended to a file since the last call, following it
/// across a rotation (a new file under the same name).
struct LogFileReader {
    let path: String
    private var fd: Int32 = -1
    private var inode: ino_t = 0
    private var partial: [UInt8] = []

    init(path: String) { self.path = path }

    mutating func readLines() -> [Substring] {
        var st = stat()
        if stat(path, &st) == 0 && (fd < 0 || st.st_ino != inode) {
            // First read or a rotation: whatever is left of the old file first.
            var out = fd >= 0 ? drain() : []
            if fd >= 0 { close(fd) }
            fd = open(path, O_RDONLY | O_CLOEXEC)
            inode = st.st_ino
            partial = []
            out += drain()
            return out
        }
        return drain()
    }

    private mutating func drain() -> [Substring] {
        guard fd >= 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            partial += buf[0..<n]
        }
        guard let lastNewline = partial.lastIndex(of: 10) else { return [] }
        let complete = String(decoding: partial[...lastNewline], as: UTF8.self)
        partial.removeSubrange(...lastNewline)
        return complete.split(separator: "\n")
    }
}
