import ArgumentParser

/// `berth container COMMAND`: Docker's management command for containers.
struct ContainerGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers",
        subcommands: [ContainerListCommand.self, RunCommand.self, CreateCommand.self, StartCommand.self, StopCommand.self,
                      RestartCommand.self, KillCommand.self, PauseCommand.self, UnpauseCommand.self, RmCommand.self,
                      WaitCommand.self, RenameCommand.self])
}
