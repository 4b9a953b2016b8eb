import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth stats`: a live table of the containers' resource use, Docker's
/// columns, refreshed every second; `--no-stream` prints it once.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Display a live stream of container(s) resource usage statistics")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("a"), .long], help: "Show all containers (default shows just running)") var all = false
    @Flag(name: .customLong("no-stream"), help: "Disable streaming stats and only pull the first result") var noStream = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate output") var noTrunc = false
    @Option(help: "Format output using a custom template ('table', 'json', or a Go template)") var format: String?
    @Argument(help: "CONTAINER") var containers: [String] = []

    func run() throws {
        let client = try global.client()
        var refs = containers
        if refs.isEmpty {
            let list: [BerthAPI.ContainerSummary] = try client.call(.containerList, BerthAPI.ContainerListParams(all: all ? true : nil))
            refs = list.map(\.id)
        }
        var format = self.format ?? StatsRow.defaultFormat
        if format == "table" { format = StatsRow.defaultFormat }
        if format == "json" { format = "{{json .}}" }
        let template = try GoTemplate(format)
        let terminal = isatty(STDOUT_FILENO) == 1 && !noStream

        // One stats stream per container on the connection; each sample is
        // kept with the one before it (CPU % needs two).
        var requests: [RPCID: Int] = [:]
        var samples: [[BerthAPI.ContainerStats]] = Array(repeating: [], count: refs.count)
        var ended = Array(repeating: false, count: refs.count)
        var failed = false
        for (i, ref) in refs.enumerated() {
            requests[try client.send(request: .containerStats, BerthAPI.ContainerStatsParams(id: ref, stream: true))] = i
        }
        if refs.isEmpty && noStream {
            Output.write(try render([], template: template))
            return
        }
        var lastPrint = 0.0
        while true {
            let event = try client.nextEvent(timeoutMillis: 1000)
            switch event {
            case let .notification(name, p) where name == BerthAPI.StreamNotification.stats:
                guard let p, let s = try? JSONValueDecoder().decode(BerthAPI.ContainerStats.self, from: p) else { continue }
                let i = RPCID(json: p["request"]).flatMap { requests[$0] } ?? refs.firstIndex(where: { s.id.hasPrefix($0) || s.name == $0 })
                guard let i else { continue }
                samples[i] = Array((samples[i] + [s]).suffix(2))
            case .result(let rid, _):
                if let i = requests[rid] { ended[i] = true }
            case .error(let rid, let e):
                guard let rid, let i = requests[rid] else { throw e }
                ended[i] = true
                if e.code != .canceled {
                    BerthCLI.printError(ContainerCLI.message(e))
                    failed = true
                }
            default: break
            }
            let ready = samples.indices.allSatisfy { ended[$0] || samples[$0].count >= 2 }
            if noStream {
                guard ready else { continue }
                if !(failed && samples.allSatisfy(\.isEmpty)) { Output.write(try render(samples, template: template)) }
                client.close()
                if failed { throw ExitCode(1) }
                return
            }
            if ended.allSatisfy({ $0 }) {
                if failed { throw ExitCode(1) }
                return
            }
            let now = StatsCommand.now()
            if now - lastPrint >= 1 && samples.contains(where: { !$0.isEmpty }) {
                lastPrint = now
                Output.write((terminal ? "\u{1B}[2J\u{1B}[H" : "") + (try render(samples, template: template)))
            }
        }
    }

    private func render(_ samples: [[BerthAPI.ContainerStats]], template: GoTemplate) throws -> String {
        let rows = samples.compactMap { pair -> JSONValue? in
            guard let last = pair.last else { return nil }
            return StatsRow(current: last, previous: pair.count > 1 ? pair[0] : nil, trunc: !noTrunc).json
        }
        return try template.renderRows(rows, titles: StatsRow.titles)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// One row of `stats`: Docker's columns and their formats.
struct StatsRow {
    var current: BerthAPI.ContainerStats
    var previous: BerthAPI.ContainerStats?
    var trunc = true

    static let defaultFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
    static let titles = ["ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
                         "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"]

    /// Docker's: the container's share of the host's CPU time between two
    /// samples, times the number of CPUs ("150.00%" for one and a half CPUs).
    var cpuPercent: Double {
        guard let previous else { return 0 }
        let cpuDelta = Double(current.cpuTotal) - Double(previous.cpuTotal)
        let systemDelta = Double(current.systemCPU) - Double(previous.systemCPU)
        guard cpuDelta > 0, systemDelta > 0 else { return 0 }
        return cpuDelta / systemDelta * Double(max(current.onlineCPUs, 1)) * 100
    }

    var memPercent: Double {
        current.memoryLimit > 0 ? Double(current.memoryUsage) / Double(current.memoryLimit) * 100 : 0
    }

    var json: JSONValue {
        let name = current.name.hasPrefix("/") ? String(current.name.dropFirst()) : current.name
        let id = trunc ? String(current.id.prefix(12)) : current.id
        return .object([
            ("BlockIO", .string("\(HumanSize.decimal(Int64(clamping: current.blockRead))) / \(HumanSize.decimal(Int64(clamping: current.blockWrite)))")),
            ("CPUPerc", .string(StatsRow.percent(cpuPercent))),
            ("Container", .string(name.isEmpty ? id : name)),
            ("ID", .string(id)),
            ("MemPerc", .string(StatsRow.percent(memPercent))),
            ("MemUsage", .string("\(HumanSize.binary(Int64(clamping: current.memoryUsage))) / \(HumanSize.binary(Int64(clamping: current.memoryLimit)))")),
            ("Name", .string(name.isEmpty ? "--" : name)),
            ("NetIO", .string("\(HumanSize.decimal(Int64(clamping: current.netRx))) / \(HumanSize.decimal(Int64(clamping: current.netTx)))")),
            ("PIDs", .string(String(current.pids))),
        ])
    }

    /// "%.2f%%".
    static func percent(_ v: Double) -> String {
        var buf = [CChar](repeating: 0, count: 32)
        _ = withVaList([v]) { vsnprintf(&buf, buf.count, "%.2f%%", $0) }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
