import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth history` / `berth image history`.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the history of an image")

    @OptionGroup var global: GlobalOptions

    // Docker's -H short form is taken by the global -H/--host here.
    @Flag(name: .long, inversion: .prefixedNo, help: "Print sizes and dates in human readable format")
    var human = true

    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
    var noTrunc = false

    @Flag(name: [.customShort("q"), .long], help: "Only show image IDs")
    var quiet = false

    @Option(help: "Format output using a custom template")
    var format: String?

    @Argument(help: "IMAGE") var image: String

    func run() throws {
        let items: [BerthAPI.HistoryItem] = try global.client().call(.imageHistory, BerthAPI.ImageRef(name: image))
        let now = Double(time(nil))
        func id(_ s: String) -> String { noTrunc || s == "<missing>" ? s : String(s.dropFirst(7).prefix(12)) }
        if quiet {
            for i in items { Output.line(id(i.id)) }
            return
        }
        let rows: [JSONValue] = items.map { i in
            let created = i.created > 0 ? (human ? HumanDuration.ago(Double(i.created), now: now)
                                                 : Clock.rfc3339(timespec(tv_sec: Int(i.created), tv_nsec: 0), nanos: false)) : "N/A"
            var by = i.createdBy.replacingTabs()
            if !noTrunc && by.count > 45 { by = String(by.prefix(44)) + "…" }
            return .object([("ID", .string(id(i.id))), ("CreatedSince", .string(created)), ("CreatedBy", .string(by)),
                            ("Size", .string(human ? HumanSize.decimal(i.size) : String(i.size))), ("Comment", .string(i.comment))])
        }
        if let format {
            Output.write(try GoTemplate(format).renderRows(rows, titles: ["ID": "IMAGE", "CreatedSince": "CREATED",
                                                                           "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"]))
            return
        }
        var table = TableWriter()
        table.add(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"])
        for r in rows {
            table.add(["ID", "CreatedSince", "CreatedBy", "Size", "Comment"].map { r[$0]?.stringValue ?? "" })
        }
        Output.write(table.render())
    }
}

extension String {
    func replacingTabs() -> String { String(map { $0 == "\t" ? " " : $0 }) }
}
