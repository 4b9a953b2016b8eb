import ArgumentParser
import Glibc
import RPC

/// `berth push NAME[:TAG]` (also `berth image push`).
struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push", abstract: "Upload an image to a registry")

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("q"), .long], help: "Suppress verbose output")
    var quiet = false

    @Argument(help: "NAME[:TAG]") var name: String

    func run() throws {
        let client = try global.client()
        if !quiet && !name.contains("@") && !ReferenceText.hasTag(name) { Output.line("Using default tag: latest") }
        let bars = ProgressPrinter(terminal: !quiet && isatty(STDOUT_FILENO) == 1, quiet: quiet)
        let r: BerthAPI.PushResult = try client.call(.imagePush, BerthAPI.PushParams(reference: name, auth: AuthFile.load().auth(for: name))) {
            (p: BerthAPI.PullProgress) in bars.show(p)
        }
        if quiet { Output.line(name) }
        _ = r
    }
}
