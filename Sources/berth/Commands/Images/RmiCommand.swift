import ArgumentParser
import RPC

/// `berth rmi` / `berth image rm`: Untagged/Deleted lines; every name is
/// tried, and the status is 1 when one failed (Docker's behaviour).
struct RmiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove one or more images")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageRemoveOptions
    func run() throws { try options.run(global) }
}

struct ImageRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more images", aliases: ["rmi", "remove"])
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageRemoveOptions
    func run() throws { try options.run(global) }
}

struct ImageRemoveOptions: ParsableArguments {
    @Flag(name: [.customShort("f"), .long], help: "Force removal of the image")
    var force = false

    @Argument(help: "IMAGE") var images: [String]

    func validate() throws {
        if images.isEmpty { throw ValidationError("\"rmi\" requires at least 1 argument.") }
    }

    func run(_ global: GlobalOptions) throws {
        let client = try global.client()
        var failed = false
        for name in images where !remove(name, client) { failed = true }
        if failed { throw ExitCode(1) }
    }

    /// One name; false when berthd refused it (the error is printed, the others go on).
    private func remove(_ name: String, _ client: BerthClient) -> Bool {
        let items: [BerthAPI.ImageDeleteItem]
        do {
            items = try client.call(.imageRemove, BerthAPI.ImageRemoveParams(name: name, force: force), as: [BerthAPI.ImageDeleteItem].self)
        } catch {
            BerthCLI.printError(error.fromDaemon ? "Error response from daemon: \(error.message)" : error.message)
            return false
        }
        for i in items {
            if let u = i.untagged { Output.line("Untagged: \(u)") }
            if let d = i.deleted { Output.line("Deleted: \(d)") }
        }
        return true
    }
}
