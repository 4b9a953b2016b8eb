import ArgumentParser
import OCI
import RPC

/// `berth container inspect`: a JSON array of Docker-shaped objects, or a Go
/// template per container.
struct ContainerInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more containers")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("f"), .long], help: "Format output using a custom template") var format: String?
    @Flag(name: [.customShort("s"), .long], help: "Display total file sizes") var size = false
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"inspect\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try Inspector(format: format).run(containers) { ref in
            try client.call(BerthMethod.containerInspect.rawValue, ContainerCLI.json(BerthAPI.ContainerInspectParams(id: ref, size: size ? true : nil)))
        }
    }
}

/// `berth inspect`: containers or images (`--type` picks one), as Docker's
/// generic inspect: a container of that name first, then an image.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Return low-level information on Berth objects")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("f"), .long], help: "Format output using a custom template") var format: String?
    @Flag(name: [.customShort("s"), .long], help: "Display total file sizes if the type is container") var size = false
    @Option(name: .long, help: "Return JSON for specified type (container, image)") var type: String?
    @Argument(help: "NAME|ID") var names: [String] = []

    func validate() throws {
        if names.isEmpty { throw ValidationError("\"inspect\" requires at least 1 argument.") }
        if let type, !["container", "image"].contains(type) { throw ValidationError("\"\(type)\" is not a valid value for --type") }
    }

    func run() throws {
        let client = try global.client()
        try Inspector(format: format, genericNotFound: type == nil).run(names) { ref in
            if type != "image" {
                let r = Inspector.attempt {
                    try client.call(BerthMethod.containerInspect.rawValue, ContainerCLI.json(BerthAPI.ContainerInspectParams(id: ref, size: size ? true : nil)))
                }
                if case .success(let v) = r { return v }
                if case .failure(let e) = r, !(e.fromDaemon && e.code == .notFound) || type == "container" { throw e }
            }
            return try client.call(BerthMethod.imageInspect.rawValue, ContainerCLI.json(BerthAPI.ImageRef(name: ref)))
        }
    }
}

/// Prints inspect results as Docker does: one indented JSON array of what was
/// found (errors on stderr, status 1 if any), or the template per object.
struct Inspector {
    var format: String?
    /// Docker's generic `inspect` says "Error: No such object: NAME".
    var genericNotFound = false

    func run(_ refs: [String], _ fetch: (String) throws -> JSONValue) throws {
        let template = try format.map { try GoTemplate($0) }
        var found: [JSONValue] = []
        var failed = false
        for ref in refs {
            switch Inspector.attempt({ try fetch(ref) }) {
            case .success(let v):
                if let template { Output.line(try template.render(v)) } else { found.append(v) }
            case .failure(let e):
                guard e.fromDaemon else { throw e }
                BerthCLI.printError(genericNotFound && e.code == .notFound ? "Error: No such object: \(ref)" : "Error response from daemon: \(e.message)")
                failed = true
            }
        }
        if template == nil { Output.line(IndentedJSON.write(.array(found))) }
        if failed { throw ExitCode(1) }
    }

    static func attempt(_ body: () throws -> JSONValue) -> Result<JSONValue, BerthError> {
        do { return .success(try body()) } catch let e as BerthError { return .failure(e) } catch {
            return .failure(BerthError(.internal, "\(error)", fromDaemon: false))
        }
    }
}
