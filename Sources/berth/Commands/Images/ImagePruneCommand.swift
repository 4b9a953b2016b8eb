import ArgumentParser
import Glibc
import RPC

/// `berth image prune`: asks first unless `-f`, as Docker.
struct ImagePruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused images")

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("a"), .long], help: "Remove all unused images, not just dangling ones")
    var all = false

    @Flag(name: [.customShort("f"), .long], help: "Do not prompt for confirmation")
    var force = false

    func run() throws {
        if !force {
            Output.write(all ? "WARNING! This will remove all images without at least one container associated to them.\n"
                             : "WARNING! This will remove all dangling images.\n")
            Output.write("Are you sure you want to continue? [y/N] ")
            let answer = readLine() ?? ""
            guard answer.lowercased().hasPrefix("y") else { return }
        }
        let r: BerthAPI.PruneResult = try global.client().call(.imagePrune, BerthAPI.PruneParams(all: all))
        if !r.deleted.isEmpty {
            Output.line("Deleted Images:")
            for d in r.deleted {
                if let u = d.untagged { Output.line("untagged: \(u)") }
                if let x = d.deleted { Output.line("deleted: \(x)") }
            }
            Output.line("")
        }
        Output.line("Total reclaimed space: \(HumanSize.decimal(r.spaceReclaimed))")
    }
}
