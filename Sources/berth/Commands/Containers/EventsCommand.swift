import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth events` / `berth system events`: berthd's events as they happen,
/// from `--since`, until `--until` or until the user interrupts.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Get real time events from the server")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("f"), .long], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(help: "Format output using a custom template ('json', or a Go template)") var format: String?
    @Option(help: "Show all events created since timestamp") var since: String?
    @Option(help: "Stream events until this timestamp") var until: String?

    func run() throws {
        var filters: [String: [String]] = [:]
        for f in filter {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError("bad format of filter (expected name=value)", status: 1) }
            filters[String(f[..<eq]), default: []].append(String(f[f.index(after: eq)...]))
        }
        let sinceTS: String?, untilTS: String?
        do {
            sinceTS = try since.map { v throws(OptionError) in try TimeSpec.timestamp(v) }
            untilTS = try until.map { v throws(OptionError) in try TimeSpec.timestamp(v) }
        } catch { throw ContainerCLI.fail(error.message) }
        let template = try format.map { try GoTemplate($0 == "json" ? "{{json .}}" : $0) }
        let client = try global.client()
        let id = try client.send(request: .systemEvents, BerthAPI.EventsParams(since: sinceTS, until: untilTS, filters: filters.isEmpty ? nil : filters))
        while true {
            switch try client.nextEvent() {
            case let .notification(name, p) where name == BerthAPI.StreamNotification.event:
                if let r = RPCID(json: p?["request"]), r != id { continue }
                guard let p, let e = try? JSONValueDecoder().decode(BerthAPI.Event.self, from: p) else { continue }
                if let template { Output.line(try template.render(EventsCommand.json(e))) } else { Output.line(EventsCommand.line(e)) }
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

    /// Docker's line: "2024-01-02T15:04:05.123456789+01:00 container start ID (image=busybox, name=web)",
    /// the time in local time with nine fractional digits, attributes sorted.
    static func line(_ e: BerthAPI.Event) -> String {
        var s = time(e.timeNano, fallbackSeconds: e.time) + " \(e.type) \(e.action) \(e.actor.id)"
        if !e.actor.attributes.isEmpty {
            s += " (" + e.actor.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
        }
        return s
    }

    /// Go's RFC3339NanoFixed in local time ("Z" for UTC).
    static func time(_ nanos: Int64, fallbackSeconds: Int64) -> String {
        let sec = nanos > 0 ? nanos / 1_000_000_000 : fallbackSeconds
        let frac = nanos > 0 ? nanos % 1_000_000_000 : 0
        var t = time_t(sec)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%S", &tm)
        var out = String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let f = String(frac)
        out += "." + String(repeating: "0", count: 9 - f.count) + f
        let off = tm.tm_gmtoff
        if off == 0 { return out + "Z" }
        let a = abs(off)
        return out + (off < 0 ? "-" : "+") + two(a / 3600) + ":" + two(a % 3600 / 60)
    }

    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }

    /// The event as Docker's JSON message (with its older fields status/id/from).
    static func json(_ e: BerthAPI.Event) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if e.type == "container" || e.type == "image" {
            pairs += [("status", .string(e.action)), ("id", .string(e.actor.id))]
            if let from = e.actor.attributes["image"] { pairs.append(("from", .string(from))) }
        }
        pairs += [("Type", .string(e.type)), ("Action", .string(e.action)),
                  ("Actor", .object([("ID", .string(e.actor.id)),
                                     ("Attributes", .object(e.actor.attributes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])),
                  ("scope", "local"), ("time", .int(e.time)), ("timeNano", .int(e.timeNano))]
        return .object(pairs)
    }
}

/// `berth container prune`: removes every stopped container.
struct ContainerPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all stopped containers")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .long], help: "Do not prompt for confirmation") var force = false
    @Option(help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []

    func run() throws {
        if !force {
            Output.write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { return }
        }
        var filters: [String: [String]] = [:]
        for f in filter {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError("bad format of filter (expected name=value)", status: 1) }
            filters[String(f[..<eq]), default: []].append(String(f[f.index(after: eq)...]))
        }
        let client = try global.client()
        var until: Double?
        if let u = filters.removeValue(forKey: "until")?.first {
            do { until = Double(try TimeSpec.timestamp(u)) } catch { throw ContainerCLI.fail(error.message) }
        }
        let list: [BerthAPI.ContainerSummary] = try client.call(.containerList,
            BerthAPI.ContainerListParams(all: true, size: true, filters: filters.isEmpty ? nil : filters))
        let stopped = list.filter { ["exited", "created", "dead"].contains($0.state) && Double($0.created) < (until ?? .infinity) }
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for c in stopped {
            if case .success = Result(catching: { () throws -> NoParams in try client.call(.containerRemove, BerthAPI.ContainerRemoveParams(id: c.id)) }) {
                deleted.append(c.id)
                reclaimed += c.sizeRw ?? 0
            }
        }
        if !deleted.isEmpty { Output.write("Deleted Containers:\n" + deleted.map { $0 + "\n" }.joined() + "\n") }
        Output.line("Total reclaimed space: \(HumanSize.decimal(reclaimed))")
    }
}
