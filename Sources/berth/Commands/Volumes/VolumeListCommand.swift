import ArgumentParser
import OCI
import RPC

/// `berth volume ls`: Docker's columns (`DRIVER    VOLUME NAME`), sorted by name.
struct VolumeListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes", aliases: ["list"])

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("q"), .long], help: "Only display volume names")
    var quiet = false

    @Option(name: [.customShort("f"), .long], help: "Provide filter values (e.g. \"dangling=true\")")
    var filter: [String] = []

    @Option(help: "Format output using a custom template ('table', 'json', or a Go template)")
    var format: String?

    static let titles = ["Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                         "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE"]

    func run() throws {
        let filters = try VolumeListCommand.filters(filter)
        let r: BerthAPI.VolumeListResult = try global.client().call(.volumeList, BerthAPI.VolumeListParams(filters: filters.isEmpty ? nil : filters))
        let volumes = r.volumes.sorted { $0.name < $1.name }
        if quiet {
            for v in volumes { Output.line(v.name) }
            return
        }
        let rows = volumes.map(VolumeListCommand.row)
        if let format, format != "table" {
            if format == "json" {
                for row in rows { Output.line(JSONWriter.write(row)) }
                return
            }
            Output.write(try GoTemplate(format).renderRows(rows, titles: VolumeListCommand.titles))
            return
        }
        var table = TableWriter()
        table.add(["DRIVER", "VOLUME NAME"])
        for v in volumes { table.add([v.driver, v.name]) }
        Output.write(table.render())
    }

    /// What templates see: Docker's volume context (.Name .Driver .Scope .Mountpoint .Labels .Links .Size).
    static func row(_ v: BerthAPI.Volume) -> JSONValue {
        let labels = (v.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return .object([("Driver", .string(v.driver)), ("Labels", .string(labels)), ("Links", "N/A"),
                        ("Mountpoint", .string(v.mountpoint)), ("Name", .string(v.name)), ("Scope", .string(v.scope)),
                        ("Size", "N/A")])
    }

    /// `--filter KEY=VALUE` (repeatable) as the API's map.
    static func filters(_ given: [String]) throws -> [String: [String]] {
        var filters: [String: [String]] = [:]
        for f in given {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError("bad format of filter (expected name=value)", status: 1) }
            filters[String(f[..<eq]), default: []].append(String(f[f.index(after: eq)...]))
        }
        return filters
    }
}

/// `berth volume prune`: asks first unless `-f`; only anonymous volumes unless `-a` (Docker 23+).
struct VolumePruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused local volumes")

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("a"), .long], help: "Remove all unused volumes, not just anonymous ones")
    var all = false

    @Option(name: .long, help: "Provide filter values (e.g. \"label=<label>\")")
    var filter: [String] = []

    @Flag(name: [.customShort("f"), .long], help: "Do not prompt for confirmation")
    var force = false

    func run() throws {
        var filters = try VolumeListCommand.filters(filter)
        if all { filters["all"] = ["true"] }
        if !force {
            Output.write(all ? "WARNING! This will remove all local volumes not used by at least one container.\n"
                             : "WARNING! This will remove anonymous local volumes not used by at least one container.\n")
            Output.write("Are you sure you want to continue? [y/N] ")
            let answer = readLine() ?? ""
            guard answer.lowercased().hasPrefix("y") else { return }
        }
        let r: BerthAPI.VolumePruneResult = try global.client().call(.volumePrune, BerthAPI.VolumePruneParams(filters: filters.isEmpty ? nil : filters))
        if !r.volumesDeleted.isEmpty {
            Output.line("Deleted Volumes:")
            for name in r.volumesDeleted { Output.line(name) }
            Output.line("")
        }
        Output.line("Total reclaimed space: \(HumanSize.decimal(r.spaceReclaimed))")
    }
}
