import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth logs`: the container's log, stdout records on stdout and stderr
/// records on stderr; `-f` follows it until the container stops or the user
/// interrupts.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Fetch the logs of a container")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .long], help: "Follow log output") var follow = false
    @Option(name: [.customShort("n"), .long], help: "Number of lines to show from the end of the logs") var tail: String = "all"
    @Option(help: "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)") var since: String?
    @Option(help: "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)") var until: String?
    @Flag(name: [.customShort("t"), .long], help: "Show timestamps") var timestamps = false
    @Flag(name: .long, help: "Show extra details provided to logs") var details = false
    @Argument(help: "CONTAINER") var container: String

    func run() throws {
        let sinceTS: String?, untilTS: String?
        do { sinceTS = try since.map { v throws(OptionError) in try TimeSpec.timestamp(v) } } catch {
            throw ContainerCLI.fail("invalid value for \"since\": \(error.message)")
        }
        do { untilTS = try until.map { v throws(OptionError) in try TimeSpec.timestamp(v) } } catch {
            throw ContainerCLI.fail("invalid value for \"until\": \(error.message)")
        }
        if tail != "all", Int(tail) == nil { throw CLIError("invalid value for \"tail\": \(tail)", status: 1) }
        let params = BerthAPI.ContainerLogsParams(id: container, follow: follow ? true : nil, stdout: true, stderr: true,
                                                  since: sinceTS, until: untilTS, tail: tail == "all" ? nil : tail)
        let client = try global.client()
        let id = try client.send(request: .containerLogs, params)
        var printer = LogPrinter(timestamps: timestamps)
        while true {
            switch try client.nextEvent() {
            case let .notification(name, p) where name == BerthAPI.StreamNotification.log:
                if let r = RPCID(json: p?["request"]), r != id { continue }
                guard let p, let record = try? JSONValueDecoder().decode(BerthAPI.LogRecord.self, from: p) else { continue }
                printer.print(record)
            case let .notification(name, p):
                client.onNotification?(name, p)
            case .result(let rid, _) where rid == id:
                return
            case .error(let rid, let e) where rid == id || rid == nil:
                throw e
            default:
                continue
            }
        }
    }
}

/// One log record as `docker logs` prints it: its text as written, with `-t`
/// the time first at the start of each line, in Docker's fixed form
/// (RFC 3339 with nine fractional digits, "2024-01-02T03:04:05.120000000Z").
struct LogPrinter {
    var timestamps: Bool
    /// Whether the previous record of each stream ended its line (a partial line gets no second time stamp).
    private var atLineStart = [true, true]

    init(timestamps: Bool) { self.timestamps = timestamps }

    mutating func print(_ r: BerthAPI.LogRecord) {
        let isErr = r.stream == "stderr"
        StreamSession.write(isErr ? STDERR_FILENO : STDOUT_FILENO, Array(format(r).utf8))
    }

    mutating func format(_ r: BerthAPI.LogRecord) -> String {
        let k = r.stream == "stderr" ? 1 : 0
        defer { atLineStart[k] = r.log.hasSuffix("\n") }
        guard timestamps, atLineStart[k] else { return r.log }
        return LogPrinter.fixedNanos(r.time) + " " + r.log
    }

    /// The time with exactly nine fractional digits (Docker's RFC3339NanoFixed).
    static func fixedNanos(_ t: String) -> String {
        guard let tee = t.firstIndex(of: "T"),
              let zone = t[tee...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) else { return t }
        var head = t[..<zone]
        var frac = ""
        if let dot = head.firstIndex(of: ".") {
            frac = String(head[head.index(after: dot)...])
            head = head[..<dot]
        }
        frac = String((frac + String(repeating: "0", count: 9)).prefix(9))
        return head + "." + frac + t[zone...]
    }
}
