import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth images` / `berth image ls`: Docker's columns and options.
struct ImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List images")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageListOptions

    func run() throws { try options.run(global) }
}

struct ImageListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images", aliases: ["list"])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageListOptions

    func run() throws { try options.run(global) }
}

struct ImageListOptions: ParsableArguments {
    @Flag(name: [.customShort("a"), .long], help: "Show all images (default hides intermediate images)")
    var all = false

    @Flag(name: [.customShort("q"), .long], help: "Only show image IDs")
    var quiet = false

    @Flag(name: .long, help: "Show digests")
    var digests = false

    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
    var noTrunc = false

    @Option(name: [.customShort("f"), .long], help: "Filter output based on conditions provided (dangling=, reference=, before=, since=, label=)")
    var filter: [String] = []

    @Option(help: "Format output using a custom template ('table', 'json', or a Go template)")
    var format: String?

    @Argument(help: "[REPOSITORY[:TAG]]")
    var repository: String?

    func run(_ global: GlobalOptions) throws {
        var filters: [String: [String]] = [:]
        for f in filter {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError("bad format of filter (expected name=value)", status: 1) }
            filters[String(f[..<eq]), default: []].append(String(f[f.index(after: eq)...]))
        }
        if let repository { filters["reference", default: []].append(repository) }
        let list: [BerthAPI.ImageSummary] = try global.client().call(.imageList, BerthAPI.ImageListParams(filters: filters.isEmpty ? nil : filters))
        let rows = ImageListOptions.rows(list, noTrunc: noTrunc)
        if quiet {
            var seen = Set<String>()
            for r in rows where seen.insert(r.id).inserted { Output.line(r.id) }
            return
        }
        if let format, format != "table" {
            if format == "json" {
                for r in rows { Output.line(JSONWriter.write(r.json)) }
                return
            }
            let t = try GoTemplate(format)
            Output.write(try t.renderRows(rows.map(\.json), titles: ImageRow.titles))
            return
        }
        var table = TableWriter()
        table.add(["REPOSITORY", "TAG"] + (digests ? ["DIGEST"] : []) + ["IMAGE ID", "CREATED", "SIZE"])
        for r in rows {
            table.add([r.repository, r.tag] + (digests ? [r.digest] : []) + [r.id, r.createdSince, HumanSize.decimal(r.size)])
        }
        Output.write(table.render())
    }

    struct ImageRow {
        var repository, tag, digest, id, createdSince, createdAt: String
        var size: Int64
        static let titles = ["Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
                             "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE"]
        var json: JSONValue {
            .object([("Containers", "N/A"), ("CreatedAt", .string(createdAt)), ("CreatedSince", .string(createdSince)),
                     ("Digest", .string(digest)), ("ID", .string(id)), ("Repository", .string(repository)),
                     ("Size", .string(HumanSize.decimal(size))), ("Tag", .string(tag))])
        }
    }

    /// One row per tag; an image without tags shows its digests' names with TAG <none>.
    static func rows(_ list: [BerthAPI.ImageSummary], noTrunc: Bool) -> [ImageRow] {
        let now = Double(time(nil))
        var rows: [ImageRow] = []
        for s in list {
            let id = noTrunc ? s.id : String(s.id.dropFirst(7).prefix(12))
            let since = s.created > 0 ? HumanDuration.ago(Double(s.created), now: now) : "N/A"
            let at = s.created > 0 ? Clock.rfc3339(timespec(tv_sec: Int(s.created), tv_nsec: 0), nanos: false) : ""
            func digest(for repo: String) -> String {
                s.repoDigests.first { $0.hasPrefix(repo + "@") }.map { String($0[$0.index(after: $0.firstIndex(of: "@")!)...]) } ?? "<none>"
            }
            if s.repoTags.isEmpty {
                if s.repoDigests.isEmpty {
                    rows.append(ImageRow(repository: "<none>", tag: "<none>", digest: "<none>", id: id, createdSince: since, createdAt: at, size: s.size))
                }
                for d in s.repoDigests {
                    let at2 = d.firstIndex(of: "@")!
                    rows.append(ImageRow(repository: String(d[..<at2]), tag: "<none>", digest: String(d[d.index(after: at2)...]), id: id,
                                         createdSince: since, createdAt: at, size: s.size))
                }
            }
            for t in s.repoTags {
                let colon = t.lastIndex(of: ":")!
                let repo = String(t[..<colon])
                rows.append(ImageRow(repository: repo, tag: String(t[t.index(after: colon)...]), digest: digest(for: repo), id: id,
                                     createdSince: since, createdAt: at, size: s.size))
            }
        }
        return rows
    }
}
