import ArgumentParser
import OCI
import RPC

/// `berth network create`: prints the new network's id.
struct NetworkCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a network")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("d"), .long], help: "Driver to manage the Network") var driver = "bridge"
    @Option(help: "Subnet in CIDR format that represents a network segment") var subnet: [String] = []
    @Option(help: "IPv4 or IPv6 Gateway for the master subnet") var gateway: [String] = []
    @Flag(name: .customLong("internal"), help: "Restrict external access to the network") var isInternal = false
    @Option(help: "Set metadata on a network") var label: [String] = []
    @Argument(help: "NETWORK") var name: String

    func validate() throws {
        if subnet.count > 1 { throw ValidationError("only one --subnet is supported (IPv4)") }
        if gateway.count > 1 { throw ValidationError("only one --gateway is supported (IPv4)") }
    }

    func run() throws {
        var labels: [String: String] = [:]
        for l in label {
            let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
            labels[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        let r: BerthAPI.NetworkCreateResult = try global.client().call(.networkCreate, BerthAPI.NetworkCreateParams(
            name: name, driver: driver, subnet: subnet.first, gateway: gateway.first, internal: isInternal ? true : nil,
            labels: labels.isEmpty ? nil : labels))
        Output.line(r.id)
    }
}

/// `berth network ls`.
struct NetworkListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks", aliases: ["list"])
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("f"), .long], help: "Provide filter values (e.g. \"driver=bridge\")") var filter: [String] = []
    @Option(help: "Format output using a custom template ('table', 'json', or a Go template)") var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the output") var noTrunc = false
    @Flag(name: [.customShort("q"), .long], help: "Only display network IDs") var quiet = false

    static let defaultFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    static let titles = ["ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
                         "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"]

    func run() throws {
        let filters = try NetworkCLI.filters(filter)
        let list: [BerthAPI.NetworkInspect] = try global.client().call(.networkList, BerthAPI.NetworkListParams(filters: filters))
        let sorted = list.sorted { $0.name < $1.name }
        if quiet {
            for n in sorted { Output.line(noTrunc ? n.id : String(n.id.prefix(12))) }
            return
        }
        let rows = sorted.map { n -> JSONValue in
            .object([("CreatedAt", .string(n.created)), ("Driver", .string(n.driver)), ("ID", .string(noTrunc ? n.id : String(n.id.prefix(12)))),
                     ("IPv6", .string(String(n.enableIPv6))), ("Internal", .string(String(n.internal))),
                     ("Labels", .string(n.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))),
                     ("Name", .string(n.name)), ("Scope", .string(n.scope))])
        }
        if format == "json" {
            for r in rows { Output.line(JSONWriter.write(r)) }
            return
        }
        let t = try GoTemplate(format.map { $0 == "table" ? Self.defaultFormat : $0 } ?? Self.defaultFormat)
        Output.write(try t.renderRows(rows, titles: Self.titles))
    }
}

/// `berth network inspect`.
struct NetworkInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more networks")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("f"), .long], help: "Format output using a custom template") var format: String?
    @Flag(name: [.customShort("v"), .long], help: "Verbose output for diagnostics") var verbose = false
    @Argument(help: "NETWORK") var networks: [String] = []

    func validate() throws { if networks.isEmpty { throw ValidationError("\"inspect\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try Inspector(format: format).run(networks) { ref in
            try client.call(BerthMethod.networkInspect.rawValue, ContainerCLI.json(BerthAPI.NetworkRef(id: ref)))
        }
    }
}

/// `berth network rm`: each name echoed, errors per network, status 1 if any failed.
struct NetworkRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more networks", aliases: ["remove"])
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .long], help: "Do not error if the network does not exist") var force = false
    @Argument(help: "NETWORK") var networks: [String] = []

    func validate() throws { if networks.isEmpty { throw ValidationError("\"rm\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(networks) { ref in
            do {
                let _: NoParams = try client.call(.networkRemove, BerthAPI.NetworkRef(id: ref))
            } catch let e as BerthError where force && e.fromDaemon && e.code == .notFound {
                return
            }
        }
    }
}

/// `berth network prune`: asks first unless `-f`.
struct NetworkPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all unused networks")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .long], help: "Do not prompt for confirmation") var force = false
    @Option(help: "Provide filter values (e.g. \"label=<label>\")") var filter: [String] = []

    func run() throws {
        if !force {
            Output.write("WARNING! This will remove all custom networks not used by at least one container.\n")
            Output.write("Are you sure you want to continue? [y/N] ")
            guard (readLine() ?? "").lowercased().hasPrefix("y") else { return }
        }
        let r: BerthAPI.NetworkPruneResult = try global.client().call(.networkPrune, BerthAPI.NetworkListParams(filters: try NetworkCLI.filters(filter)))
        if !r.networksDeleted.isEmpty {
            Output.line("Deleted Networks:")
            for n in r.networksDeleted { Output.line(n) }
        }
    }
}

/// `berth network connect [--alias A] [--ip IP] NETWORK CONTAINER`.
struct NetworkConnectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect", abstract: "Connect a container to a network")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Add network-scoped alias for the container") var alias: [String] = []
    @Option(help: "IPv4 address (e.g., \"172.30.100.104\")") var ip: String?
    @Argument(help: "NETWORK") var network: String
    @Argument(help: "CONTAINER") var container: String

    func run() throws {
        let _: NoParams = try global.client().call(.networkConnect, BerthAPI.NetworkConnectParams(
            network: network, container: container, aliases: alias.isEmpty ? nil : alias, ipv4Address: ip))
    }
}

/// `berth network disconnect [-f] NETWORK CONTAINER`.
struct NetworkDisconnectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disconnect", abstract: "Disconnect a container from a network")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .long], help: "Force the container to disconnect from a network") var force = false
    @Argument(help: "NETWORK") var network: String
    @Argument(help: "CONTAINER") var container: String

    func run() throws {
        let _: NoParams = try global.client().call(.networkDisconnect, BerthAPI.NetworkDisconnectParams(
            network: network, container: container, force: force ? true : nil))
    }
}

enum NetworkCLI {
    /// `--filter key=value` repeated, as the API's map.
    static func filters(_ specs: [String]) throws -> [String: [String]]? {
        var out: [String: [String]] = [:]
        for f in specs {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError("bad format of filter (expected name=value)", status: 1) }
            out[String(f[..<eq]), default: []].append(String(f[f.index(after: eq)...]))
        }
        return out.isEmpty ? nil : out
    }
}
