import ArgumentParser
import OCI
import RPC

/// `berth image inspect` (also what `berth inspect` does for images): a JSON
/// array of Docker-shaped objects, or a Go template per image.
struct ImageInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more images")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("f"), .long], help: "Format output using a custom template")
    var format: String?

    @Argument(help: "IMAGE") var images: [String]

    func run() throws {
        let client = try global.client()
        try Inspector(format: format).run(images) { name in
            try client.call(BerthMethod.imageInspect.rawValue, try JSONValueEncoder().encode(BerthAPI.ImageRef(name: name)))
        }
    }
}

/// JSON indented with four spaces, as `docker inspect` prints it.
enum IndentedJSON {
    static func write(_ v: JSONValue, level: Int = 0) -> String {
        let pad = String(repeating: "    ", count: level), inner = String(repeating: "    ", count: level + 1)
        switch v {
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + write($0, level: level + 1) }.joined(separator: ",\n") + "\n" + pad + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{\n" + pairs.map { inner + JSONWriter.write(.string($0.0)) + ": " + write($0.1, level: level + 1) }
                .joined(separator: ",\n") + "\n" + pad + "}"
        default:
            return JSONWriter.write(v)
        }
    }
}
