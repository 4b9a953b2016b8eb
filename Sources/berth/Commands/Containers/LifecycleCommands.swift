import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth start`: start stopped containers (printing each name as given), or
/// with `-a` start one and stay attached, exiting with its status.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start one or more stopped containers")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("a"), .long], help: "Attach STDOUT/STDERR and forward signals") var attach = false
    @Flag(name: [.customShort("i"), .long], help: "Attach container's STDIN") var interactive = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws {
        if containers.isEmpty { throw ValidationError("\"start\" requires at least 1 argument.") }
        if (attach || interactive) && containers.count > 1 { throw ValidationError("you cannot start and attach multiple containers at once") }
    }

    func run() throws {
        let client = try global.client()
        guard attach || interactive else {
            try ContainerCLI.eachOrExit(containers, summary: { "Error: failed to start containers: \($0)" }) { ref in
                let _: NoParams = try client.call(.containerStart, BerthAPI.ContainerRef(id: ref))
            }
            return
        }
        let keys: DetachKeys
        do { keys = try detachKeys.map { try DetachKeys($0) } ?? .default } catch {
            throw ContainerCLI.fail("Invalid detach keys (\(detachKeys ?? "")) provided")
        }
        let ref = containers[0]
        let info = try ContainerInfo(client, ref)
        let stdin = interactive && info.openStdin
        if info.tty && stdin && isatty(STDIN_FILENO) != 1 { throw ContainerCLI.fail("the input device is not a TTY") }
        var session = StreamSession()
        session.stdin = stdin
        session.tty = info.tty
        session.detachKeys = keys
        session.proxySignalsTo = info.tty ? nil : info.id
        session.host = global.resolvedHost
        let attempt = Result { () throws -> StreamSession.Outcome in
            try session.run(client, .containerAttach,
                            params: ContainerCLI.attachJSON(BerthAPI.ContainerAttachParams(id: info.id, stdin: stdin, start: true), tty: info.tty))
        }
        if case .failure(let error) = attempt, let e = error as? BerthError, e.fromDaemon {
            BerthCLI.printError("Error response from daemon: \(e.message)")
            BerthCLI.printError("Error: failed to start containers: \(ref)")
            throw ExitCode(1)
        }
        guard case .finished(let value) = try attempt.get() else { return }
        let code = (try? JSONValueDecoder().decode(BerthAPI.ContainerAttachResult.self, from: value))?.exitCode ?? 0
        if code != 0 { throw ExitCode(Int32(truncatingIfNeeded: code)) }
    }
}

/// `berth stop`: StopSignal, then SIGKILL after `-t` seconds.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop one or more running containers")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("t"), .customLong("time"), .customLong("timeout")], help: "Seconds to wait before killing the container") var time: Int?
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"stop\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerStop, BerthAPI.ContainerStopParams(id: ref, timeout: time))
        }
    }
}

/// `berth restart`.
struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart one or more containers")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("t"), .customLong("time"), .customLong("timeout")], help: "Seconds to wait before killing the container") var time: Int?
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"restart\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerRestart, BerthAPI.ContainerStopParams(id: ref, timeout: time))
        }
    }
}

/// `berth kill`.
struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Kill one or more running containers")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("s"), .long], help: "Signal to send to the container") var signal: String?
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"kill\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerKill, BerthAPI.ContainerKillParams(id: ref, signal: signal))
        }
    }
}

/// `berth pause`.
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause all processes within one or more containers")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"pause\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerPause, BerthAPI.ContainerRef(id: ref))
        }
    }
}

/// `berth unpause`.
struct UnpauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Unpause all processes within one or more containers")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"unpause\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerUnpause, BerthAPI.ContainerRef(id: ref))
        }
    }
}

/// `berth rm` / `berth container rm`.
struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more containers", aliases: ["remove"])
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .long], help: "Force the removal of a running container (uses SIGKILL)") var force = false
    @Flag(name: [.customShort("v"), .long], help: "Remove anonymous volumes associated with the container") var volumes = false
    @Flag(name: [.customShort("l"), .long], help: "Remove the specified link") var link = false
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"rm\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerRemove, BerthAPI.ContainerRemoveParams(id: ref, force: force ? true : nil, volumes: volumes ? true : nil))
        }
    }
}

/// `berth wait`: each container's exit status, once it stops.
struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait", abstract: "Block until one or more containers stop, then print their exit codes")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"wait\" requires at least 1 argument.") } }

    func run() throws {
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers, echo: false) { ref in
            let r: BerthAPI.ContainerWaitResult = try client.call(.containerWait, BerthAPI.ContainerWaitParams(id: ref))
            Output.line(String(r.statusCode))
        }
    }
}

/// `berth rename OLD NEW`.
struct RenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a container")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var container: String
    @Argument(help: "NEW_NAME") var newName: String

    func run() throws {
        let name = newName.hasPrefix("/") ? String(newName.dropFirst()) : newName
        if name.isEmpty { throw CLIError("Error: Neither old nor new names may be empty", status: 1) }
        let _: NoParams = try global.client().call(.containerRename, BerthAPI.ContainerRenameParams(id: container, name: name))
    }
}

/// What the streaming commands need to know about a container before they attach.
struct ContainerInfo {
    var id: String
    var name: String
    var tty: Bool
    var openStdin: Bool
    var running: Bool
    var paused: Bool
    var restarting: Bool
    var raw: JSONValue

    init(_ client: BerthClient, _ ref: String) throws {
        let v = try client.call(BerthMethod.containerInspect.rawValue, ContainerCLI.json(BerthAPI.ContainerInspectParams(id: ref)))
        raw = v
        id = v["Id"]?.stringValue ?? ref
        name = String((v["Name"]?.stringValue ?? ref).drop(while: { $0 == "/" }))
        tty = v["Config"]?["Tty"]?.boolValue ?? false
        openStdin = v["Config"]?["OpenStdin"]?.boolValue ?? false
        running = v["State"]?["Running"]?.boolValue ?? false
        paused = v["State"]?["Paused"]?.boolValue ?? false
        restarting = v["State"]?["Restarting"]?.boolValue ?? false
    }
}
