import ArgumentParser
import OCI
import RPC

/// `berth version`: the client's and berthd's versions, as `docker version`
/// prints them (labels padded to 20 columns, as Docker's tabwriter does).
/// The client part is printed even when berthd cannot be reached.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the Berth version information")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("f"), .long], help: "Format the output using the given Go template")
    var format: String?

    /// Negotiates like Docker's client: the newest API version both sides know.
    static func negotiate(_ client: BerthClient) throws(BerthError) -> BerthAPI.HelloResult {
        let name = "berth \(BuildInfo.version)"
        do {
            return try client.hello(client: name)
        } catch {
            guard error.code == .unsupportedVersion else { throw error }
            let supported = error.data?["supported"]?.arrayValue?.compactMap { $0.int64Value.map { Int($0) } } ?? []
            guard let v = supported.filter({ $0 <= BerthAPI.version }).max() else { throw error }
            return try client.hello(version: v, client: name)
        }
    }

    func run() throws {
        let client = try global.client()
        var clientInfo = VersionView.Side(version: BuildInfo.version, apiVersion: String(BerthAPI.version),
                                          swiftVersion: BuildInfo.swiftVersion, gitCommit: BuildInfo.gitCommit ?? "unknown",
                                          os: BuildInfo.os, arch: BuildInfo.arch)
        var server: BerthAPI.VersionResult?
        var failure: (any Error)?
        do {
            let hello = try VersionCommand.negotiate(client)
            if hello.version != BerthAPI.version { clientInfo.apiVersion = "\(hello.version) (downgraded from \(BerthAPI.version))" }
            server = try client.version()
        } catch {
            failure = error
        }
        let view = VersionView(client: clientInfo, server: server)
        if let format {
            let t = try GoTemplate(format)
            Output.write(try t.render(try JSONValueEncoder().encode(view)) + "\n")
        } else {
            Output.write(view.text())
        }
        if let failure { throw failure }
    }
}

/// What `berth version` shows; also the data of `--format` (`{{.Server.Version}}`).
struct VersionView: Encodable {
    struct Side: Encodable {
        var version: String
        var apiVersion: String
        var swiftVersion: String
        var gitCommit: String
        var os: String
        var arch: String
    }
    var client: Side
    var server: BerthAPI.VersionResult?

    enum CodingKeys: String, CodingKey { case client = "Client", server = "Server" }

    func text() -> String {
        func row(_ indent: String, _ label: String, _ value: String) -> String {
            let l = indent + label + ":"
            return l + String(repeating: " ", count: max(1, 20 - l.count)) + value + "\n"
        }
        var s = "Client:\n"
        s += row(" ", "Version", client.version)
        s += row(" ", "API version", client.apiVersion)
        s += row(" ", "Swift version", client.swiftVersion)
        s += row(" ", "Git commit", client.gitCommit)
        s += row(" ", "OS/Arch", "\(client.os)/\(client.arch)")
        if let server {
            s += "\nServer: Berth Engine\n Engine:\n"
            s += row("  ", "Version", server.version)
            s += row("  ", "API version", "\(server.apiVersion) (minimum version \(server.minAPIVersion))")
            s += row("  ", "Swift version", server.swiftVersion)
            s += row("  ", "Git commit", server.gitCommit ?? "unknown")
            s += row("  ", "OS/Arch", "\(server.os)/\(server.arch)")
            s += row("  ", "Kernel version", server.kernelVersion)
        }
        return s
    }
}
