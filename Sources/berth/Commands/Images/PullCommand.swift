import ArgumentParser
import Glibc
import RPC

/// `berth pull`: Docker's output, with progress bars on a terminal and one
/// line per layer state otherwise.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Download an image from a registry")

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("a"), .customLong("all-tags")], help: "Download all tagged images in the repository")
    var allTags = false

    @Option(help: "Set platform if server is multi-platform capable")
    var platform: String?

    @Flag(name: [.customShort("q"), .long], help: "Suppress verbose output")
    var quiet = false

    @Argument(help: "NAME[:TAG|@DIGEST]")
    var name: String

    func run() throws {
        let client = try global.client()
        if !allTags && !quiet && !name.contains("@") && !ReferenceText.hasTag(name) { Output.line("Using default tag: latest") }
        let bars = ProgressPrinter(terminal: !quiet && isatty(STDOUT_FILENO) == 1, quiet: quiet)
        let r: BerthAPI.PullResult = try client.call(.imagePull, BerthAPI.PullParams(reference: name, platform: platform,
                                                                                    auth: AuthFile.load().auth(for: name), allTags: allTags ? true : nil)) {
            (p: BerthAPI.PullProgress) in bars.show(p)
        }
        bars.end()
        Output.line(ReferenceText.qualified(r.name))
    }
}

/// Text-only facts about references the CLI needs before berthd answers.
enum ReferenceText {
    /// True when the last path component carries `:tag`.
    static func hasTag(_ s: String) -> Bool {
        let last = s.split(separator: "/").last.map(String.init) ?? s
        return last.contains(":")
    }

    /// docker.io/library/busybox:latest for busybox:latest, as Docker's last pull line.
    static func qualified(_ familiar: String) -> String {
        let parts = familiar.split(separator: "/", maxSplits: 1)
        let first = parts.first.map(String.init) ?? ""
        let hasDomain = parts.count > 1 && (first.contains(".") || first.contains(":") || first == "localhost")
        if hasDomain { return familiar }
        return "docker.io/" + (parts.count == 1 ? "library/" : "") + familiar
    }
}
