import ArgumentParser
import OCI
import RPC

/// `berth volume COMMAND`: Docker's management command for volumes.
struct VolumeGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes",
        subcommands: [VolumeCreateCommand.self, VolumeListCommand.self, VolumeInspectCommand.self, VolumeRemoveCommand.self,
                      VolumePruneCommand.self])
}

/// `berth volume create [OPTIONS] [VOLUME]`: prints the volume's name.
struct VolumeCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("d"), .long], help: "Specify volume driver name")
    var driver = "local"

    @Option(name: .long, help: "Set metadata for a volume")
    var label: [String] = []

    @Option(name: [.customShort("o"), .long], help: "Set driver specific options")
    var opt: [String] = []

    @Option(name: .long, help: .hidden)
    var name: String?

    @Argument(help: "VOLUME") var volume: String?

    func run() throws {
        if let name, let volume, name != volume {
            throw CLIError("conflicting options: cannot specify a volume-name through both --name and as a positional arg", status: 1)
        }
        var labels: [String: String] = [:]
        for l in label {
            let p = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            labels[String(p[0])] = p.count == 2 ? String(p[1]) : ""
        }
        var opts: [String: String] = [:]
        for o in opt {
            let p = o.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard p.count == 2 else { throw CLIError("invalid argument \"\(o)\" for \"-o, --opt\" flag: invalid key value pair format in driver options", status: 125) }
            opts[String(p[0])] = String(p[1])
        }
        let v: BerthAPI.Volume = try global.client().call(.volumeCreate, BerthAPI.VolumeCreateParams(
            name: volume ?? name, driver: driver, driverOpts: opts.isEmpty ? nil : opts, labels: labels))
        Output.line(v.name)
    }
}

/// `berth volume rm [-f] VOLUME...`: each removed name is printed; every name is
/// tried and the status is 1 when one failed (Docker's behaviour).
struct VolumeRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more volumes", aliases: ["remove"])

    @OptionGroup var global: GlobalOptions

    @Flag(name: [.customShort("f"), .long], help: "Force the removal of one or more volumes")
    var force = false

    @Argument(help: "VOLUME") var volumes: [String] = []

    func validate() throws {
        if volumes.isEmpty { throw ValidationError("\"volume rm\" requires at least 1 argument.") }
    }

    func run() throws {
        let client = try global.client()
        var failed = false
        for name in volumes {
            do {
                let _: NoParams = try client.call(.volumeRemove, BerthAPI.VolumeRemoveParams(name: name, force: force))
                Output.line(name)
            } catch {
                BerthCLI.printError(error.fromDaemon ? "Error response from daemon: \(error.message)" : error.message)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// `berth volume inspect [-f FORMAT] VOLUME...`.
struct VolumeInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more volumes")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("f"), .long], help: "Format output using a custom template")
    var format: String?

    @Argument(help: "VOLUME") var volumes: [String] = []

    func validate() throws {
        if volumes.isEmpty { throw ValidationError("\"volume inspect\" requires at least 1 argument.") }
    }

    func run() throws {
        let client = try global.client()
        try Inspector(format: format).run(volumes) { name in
            try client.call(BerthMethod.volumeInspect.rawValue, try JSONValueEncoder().encode(BerthAPI.VolumeRef(name: name)))
        }
    }
}
