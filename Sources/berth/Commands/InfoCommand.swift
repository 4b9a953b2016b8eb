import ArgumentParser
import OCI
import RPC

/// `berth info`: system-wide information, laid out as `docker info`.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display system-wide information")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("f"), .long], help: "Format the output using the given Go template")
    var format: String?

    func run() throws {
        let client = try global.client()
        if let format {
            let t = try GoTemplate(format)
            let info = try client.info()
            Output.write(try t.render(try JSONValueEncoder().encode(info)) + "\n")
            return
        }
        var s = "Client:\n"
        s += " Version:    \(BuildInfo.version)\n"
        s += " Debug Mode: \(global.debug)\n"
        Output.write(s + "\n")
        let info: BerthAPI.InfoResult
        do { info = try client.info() } catch {
            Output.write("Server:\n")
            throw error
        }
        Output.write(InfoCommand.serverText(info))
    }

    static func serverText(_ i: BerthAPI.InfoResult) -> String {
        var s = "Server:\n"
        s += " Containers: \(i.containers)\n"
        s += "  Running: \(i.containersRunning)\n"
        s += "  Paused: \(i.containersPaused)\n"
        s += "  Stopped: \(i.containersStopped)\n"
        s += " Images: \(i.images)\n"
        s += " Server Version: \(i.serverVersion)\n"
        s += " Storage Driver: \(i.storageDriver)\n"
        for row in i.driverStatus where row.count == 2 { s += "  \(row[0]): \(row[1])\n" }
        s += " Cgroup Version: \(i.cgroupVersion)\n"
        s += " Kernel Version: \(i.kernelVersion)\n"
        s += " Operating System: \(i.operatingSystem)\n"
        s += " OSType: \(i.osType)\n"
        s += " Architecture: \(i.architecture)\n"
        s += " CPUs: \(i.ncpu)\n"
        s += " Total Memory: \(HumanSize.binary(i.memTotal))\n"
        s += " Name: \(i.name)\n"
        s += " ID: \(i.id)\n"
        s += " Berth Root Dir: \(i.root)\n"
        s += " Berth State Dir: \(i.stateDir)\n"
        s += " Debug Mode: \(i.debug)\n"
        s += " Default Registry: \(i.defaultRegistry)\n"
        // Loopback registries are always reached over HTTP, as Docker's 127.0.0.0/8.
        s += " Insecure Registries:\n"
        for r in ["127.0.0.0/8", "::1/128"] + i.insecureRegistries { s += "  \(r)\n" }
        if !i.registryMirrors.isEmpty {
            s += " Registry Mirrors:\n"
            for m in i.registryMirrors { s += "  \(m)\n" }
        }
        for w in i.warnings { s += "\nWARNING: \(w)" }
        if !i.warnings.isEmpty { s += "\n" }
        return s
    }
}
