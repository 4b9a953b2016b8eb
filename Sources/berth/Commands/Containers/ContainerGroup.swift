import ArgumentParser

/// `berth container COMMAND`: Docker's management command for containers.
struct ContainerGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers",
        subcommands: [AttachCommand.self, CommitCommand.self, CpCommand.self, CreateCommand.self, DiffCommand.self,
                      ExecCommand.self, ExportCommand.self, ContainerInspectCommand.self, KillCommand.self, LogsCommand.self,
                      ContainerListCommand.self, PauseCommand.self, PortCommand.self, ContainerPruneCommand.self,
                      RenameCommand.self, RestartCommand.self, RmCommand.self, RunCommand.self, StartCommand.self,
                      StatsCommand.self, StopCommand.self, TopCommand.self, UnpauseCommand.self, UpdateCommand.self,
                      WaitCommand.self])
}
