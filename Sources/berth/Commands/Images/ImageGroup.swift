import ArgumentParser

/// `berth image COMMAND`: Docker's management command for images.
struct ImageGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images",
        subcommands: [ImageListCommand.self, PullCommand.self, ImageRemoveCommand.self, ImageInspectCommand.self,
                      HistoryCommand.self, TagCommand.self, ImagePruneCommand.self, PushCommand.self, SaveCommand.self,
                      LoadCommand.self, ImportCommand.self])
}

/// `berth system COMMAND`.
struct SystemGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "system", abstract: "Manage Berth",
                                                    subcommands: [SystemDFCommand.self, InfoCommand.self, EventsCommand.self])
}
