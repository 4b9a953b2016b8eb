import ArgumentParser
import FoundationEssentials
import Glibc
import RPC

/// `berth login [SERVER]`: berthd checks the credentials against the
/// registry; the CLI keeps them in its credentials file (mode 0600).
struct LoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Log in to a registry")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("u"), .long], help: "Username") var username: String?
    @Option(name: [.customShort("p"), .long], help: "Password") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Take the password from stdin") var passwordStdin = false
    @Argument(help: "SERVER") var server: String?

    func run() throws {
        var pass = password
        if passwordStdin {
            if password != nil { throw CLIError("--password and --password-stdin are mutually exclusive", status: 1) }
            pass = readLine(strippingNewline: true)
        } else if password != nil {
            BerthCLI.printError("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
        }
        guard let user = username, !user.isEmpty else { throw CLIError("Error: Cannot perform an interactive login from a non TTY device", status: 1) }
        guard let pass, !pass.isEmpty else { throw CLIError("Error: Password Required", status: 1) }
        let r: BerthAPI.LoginResult = try global.client().call(.registryLogin, BerthAPI.LoginParams(server: server, username: user, password: pass))
        var file = AuthFile.load()
        file.auths[r.server] = AuthFile.Entry(auth: Data("\(user):\(pass)".utf8).base64EncodedString())
        try file.save()
        Output.line(r.status)
    }
}

/// `berth logout [SERVER]`: forgets the stored credentials.
struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Log out from a registry")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "SERVER") var server: String?

    func run() throws {
        let host = server ?? "docker.io"
        var file = AuthFile.load()
        guard file.auths.removeValue(forKey: host) != nil else {
            Output.line("Not logged in to \(host)")
            return
        }
        try file.save()
        Output.line("Removing login credentials for \(host)")
    }
}
