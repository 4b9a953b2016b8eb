import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth ps` / `berth container ls`: Docker's table and options.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: PsOptions
    func run() throws { try options.run(global) }
}

struct ContainerListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers", aliases: ["ps", "list"])
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: PsOptions
    func run() throws { try options.run(global) }
}

struct PsOptions: ParsableArguments {
    @Flag(name: [.customShort("a"), .long], help: "Show all containers (default shows just running)") var all = false
    @Flag(name: [.customShort("q"), .long], help: "Only display container IDs") var quiet = false
    @Flag(name: [.customShort("l"), .long], help: "Show the latest created container (includes all states)") var latest = false
    @Option(name: [.customShort("n"), .customLong("last")], help: "Show n last created containers (includes all states)") var last: Int = -1
    @Flag(name: [.customShort("s"), .long], help: "Display total file sizes") var size = false
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false
    @Option(name: [.customShort("f"), .long], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(help: "Format output using a custom template ('table', 'json', or a Go template)") var format: String?

    func run(_ global: GlobalOptions) throws {
        var filters: [String: [String]] = [:]
        for f in filter {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError("bad format of filter (expected name=value)", status: 1) }
            filters[String(f[..<eq]), default: []].append(String(f[f.index(after: eq)...]))
        }
        var format = self.format ?? ""
        if quiet && (format.isEmpty || format == "table") { format = "{{.ID}}" }
        if format.isEmpty || format == "table" { format = ContainerRow.defaultFormat + (size ? "\t{{.Size}}" : "") }
        if format == "json" { format = "{{json .}}" }
        let (rewritten, labelMap) = ContainerRow.rewriteLabelCalls(format)
        let template = try GoTemplate(rewritten)
        let wantSize = size || format.contains(".Size")
        let limit = latest ? 1 : (last > 0 ? last : nil)
        let params = BerthAPI.ContainerListParams(all: all || limit != nil ? true : nil, limit: limit, size: wantSize ? true : nil,
                                                  filters: filters.isEmpty ? nil : filters)
        let list: [BerthAPI.ContainerSummary] = try global.client().call(.containerList, params)
        Output.write(try PsOptions.render(list, template: template, trunc: !noTrunc, labelMap: labelMap, now: Double(time(nil))))
    }

    static func render(_ list: [BerthAPI.ContainerSummary], template: GoTemplate, trunc: Bool, labelMap: Bool = false, now: Double) throws -> String {
        let rows = list.map { ContainerRow(summary: $0, trunc: trunc, now: now).json(labelMap: labelMap) }
        return try template.renderRows(rows, titles: ContainerRow.titles)
    }
}
