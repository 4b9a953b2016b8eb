import ArgumentParser

/// `berth network COMMAND`: Docker's management command for networks.
struct NetworkGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks",
        subcommands: [NetworkCreateCommand.self, NetworkListCommand.self, NetworkInspectCommand.self, NetworkRemoveCommand.self,
                      NetworkPruneCommand.self, NetworkConnectCommand.self, NetworkDisconnectCommand.self])
}
