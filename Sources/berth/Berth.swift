import ArgumentParser
import RPC

/// The root command. A new command is a ParsableCommand in Commands/ (one
/// per file, `@OptionGroup var global: GlobalOptions`, a `run()` that calls
/// berthd through `global.client()` and prints through Format/), listed here;
/// a command group (`image ls`, `image rm`) is a command whose
/// configuration lists its own subcommands.
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A container system that does what Docker does, with berthd as its engine.",
        version: "Berth version \(BuildInfo.version), build \(BuildInfo.gitCommit ?? "unknown")",
        subcommands: [VersionCommand.self, InfoCommand.self,
                      PullCommand.self, PushCommand.self, ImagesCommand.self, TagCommand.self, RmiCommand.self,
                      HistoryCommand.self, SaveCommand.self, LoadCommand.self, ImportCommand.self, LoginCommand.self, LogoutCommand.self,
                      ImageGroup.self, SystemGroup.self,
                      RunCommand.self, CreateCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self,
                      KillCommand.self, PauseCommand.self, UnpauseCommand.self, RmCommand.self, WaitCommand.self,
                      RenameCommand.self, PsCommand.self, InspectCommand.self, LogsCommand.self, AttachCommand.self,
                      ExecCommand.self, TopCommand.self, StatsCommand.self, CpCommand.self, DiffCommand.self,
                      CommitCommand.self, ExportCommand.self, PortCommand.self, UpdateCommand.self, EventsCommand.self,
                      ContainerGroup.self, NetworkGroup.self, VolumeGroup.self])

    @OptionGroup var global: GlobalOptions
}
