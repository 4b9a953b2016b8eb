import ArgumentParser
import Glibc
import OCI
import RPC

/// Options every command takes, before or after its name (an @OptionGroup in
/// the root command and in each subcommand).
struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("H"), .long], help: ArgumentHelp("The berthd socket (unix:///path); default $BERTH_HOST or unix://\(BerthAPI.defaultSocket).", valueName: "host"))
    var host: String?

    @Flag(name: .long, help: "Print debug output (notifications from berthd that no command asked for).")
    var debug = false

    /// -H, else BERTH_HOST, else the default socket.
    var resolvedHost: String {
        if let host { return host }
        if let env = getenv("BERTH_HOST"), env.pointee != 0 { return String(cString: env) }
        return "unix://" + BerthAPI.defaultSocket
    }

    /// A client of the selected berthd (it connects at its first call).
    func client() throws -> BerthClient {
        let c = try BerthClient(host: resolvedHost)
        if debug {
            c.onNotification = { method, params in
                BerthCLI.printError("DEBU notification \(method) \(params.map { JSONWriter.write($0) } ?? "")")
            }
        }
        return c
    }
}
