import ArgumentParser
import RPC

/// `berth tag SOURCE TARGET` (also `berth image tag`).
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "SOURCE_IMAGE[:TAG]") var source: String
    @Argument(help: "TARGET_IMAGE[:TAG]") var target: String

    func run() throws {
        _ = try global.client().call(.imageTag, BerthAPI.TagParams(source: source, target: target), as: NoParams.self)
    }
}
