import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth attach`: the running container's streams on this terminal; the
/// detach keys (Ctrl-P Ctrl-Q) leave it running. Exits with its status when it stops.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attach", abstract: "Attach local standard input, output, and error streams to a running container")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Flag(name: .customLong("no-stdin"), help: "Do not attach STDIN") var noStdin = false
    @Flag(name: .customLong("sig-proxy"), inversion: .prefixedNo, help: "Proxy all received signals to the process") var sigProxy = true
    @Argument(help: "CONTAINER") var container: String

    func run() throws {
        let keys: DetachKeys
        do { keys = try detachKeys.map { try DetachKeys($0) } ?? .default } catch {
            throw ContainerCLI.fail("Invalid detach keys (\(detachKeys ?? "")) provided")
        }
        let client = try global.client()
        let info = try ContainerInfo(client, container)
        if !info.running { throw ContainerCLI.fail("You cannot attach to a stopped container, start it first") }
        if info.paused { throw ContainerCLI.fail("You cannot attach to a paused container, unpause it first") }
        if info.restarting { throw ContainerCLI.fail("You cannot attach to a restarting container, wait until it is running") }
        let stdin = !noStdin && info.openStdin
        if info.tty && stdin && isatty(STDIN_FILENO) != 1 { throw ContainerCLI.fail("the input device is not a TTY") }
        var session = StreamSession()
        session.stdin = stdin
        session.tty = info.tty
        session.detachKeys = keys
        session.proxySignalsTo = sigProxy && !info.tty ? info.id : nil
        session.host = global.resolvedHost
        let outcome = try session.run(client, .containerAttach,
                                      params: ContainerCLI.attachJSON(BerthAPI.ContainerAttachParams(id: info.id, stdin: stdin), tty: info.tty))
        guard case .finished(let value) = outcome else { return }
        let code = (try? JSONValueDecoder().decode(BerthAPI.ContainerAttachResult.self, from: value))?.exitCode ?? 0
        if code != 0 { throw ExitCode(Int32(truncatingIfNeeded: code)) }
    }
}

/// `berth exec`: another process in a running container; exits with its status.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Execute a command in a running container")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("d"), .long], help: "Detached mode: run command in the background") var detach = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Option(name: [.customShort("e"), .long], help: "Set environment variables") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read in a file of environment variables") var envFile: [String] = []
    @Flag(name: [.customShort("i"), .long], help: "Keep STDIN open even if not attached") var interactive = false
    @Flag(name: .long, help: "Give extended privileges to the command") var privileged = false
    @Flag(name: [.customShort("t"), .long], help: "Allocate a pseudo-TTY") var tty = false
    @Option(name: [.customShort("u"), .long], help: "Username or UID (format: \"<name|uid>[:<group|gid>]\")") var user: String?
    @Option(name: [.customShort("w"), .long], help: "Working directory inside the container") var workdir: String?
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("CONTAINER COMMAND [ARG...]", valueName: "container"))
    var containerAndCommand: [String] = []

    func run() throws {
        guard containerAndCommand.count >= 2 else {
            throw CLIError("\"exec\" requires at least 2 arguments.\nSee 'berth exec --help'.", status: 1)
        }
        if let first = containerAndCommand.first, first.hasPrefix("-"), first.count > 1 {
            throw CLIError("unknown flag: \(first)\nSee 'berth exec --help'.", status: 125)
        }
        let keys: DetachKeys
        do { keys = try detachKeys.map { try DetachKeys($0) } ?? .default } catch {
            throw ContainerCLI.fail("Invalid detach keys (\(detachKeys ?? "")) provided")
        }
        var environment: [String] = []
        do {
            for f in envFile { environment += try EnvFile.parse(try EnvFile.read(f), path: f) }
        } catch { throw CLIError(error.message, status: 1) }
        environment += env.compactMap { EnvFile.resolve($0) }
        if tty && interactive && !detach && isatty(STDIN_FILENO) != 1 { throw ContainerCLI.fail("the input device is not a TTY") }

        let client = try global.client()
        let create = BerthAPI.ExecCreateParams(id: containerAndCommand[0], cmd: Array(containerAndCommand.dropFirst()),
                                               tty: tty ? true : nil, attachStdin: interactive && !detach ? true : nil,
                                               env: environment.isEmpty ? nil : environment, user: user, workingDir: workdir,
                                               privileged: privileged ? true : nil)
        let exec: BerthAPI.ExecCreateResult = try client.call(.execCreate, create)
        if detach {
            do {
                let _: BerthAPI.ExecStartResult = try client.call(.execStart, BerthAPI.ExecStartParams(execID: exec.execID, detach: true))
            } catch {
                throw ContainerCLI.fail(ContainerCLI.message(error), status: ContainerCLI.execStatus(ContainerCLI.message(error)))
            }
            return
        }
        var start = BerthAPI.ExecStartParams(execID: exec.execID)
        if tty, let size = RawTerminal.size() { (start.width, start.height) = (size.width, size.height) }
        var session = StreamSession()
        session.stdin = interactive
        session.tty = tty
        session.detachKeys = keys
        session.host = global.resolvedHost
        let attempt = Result { () throws -> StreamSession.Outcome in try session.run(client, .execStart, params: ContainerCLI.json(start)) }
        if case .failure(let error) = attempt {
            let m = ContainerCLI.message(error)
            throw ContainerCLI.fail(m, status: ContainerCLI.execStatus(m))
        }
        guard case .finished(let value) = try attempt.get() else { return }
        let code = (try? JSONValueDecoder().decode(BerthAPI.ExecStartResult.self, from: value))?.exitCode ?? 0
        if code != 0 { throw ExitCode(Int32(truncatingIfNeeded: code)) }
    }
}

extension ContainerCLI {
    /// Docker's status for an exec that could not start: 127 when the
    /// command was not found, 126 when it could not be invoked, else 1.
    static func execStatus(_ message: String) -> Int32 {
        let s = runStatus(message)
        return s == 125 ? 1 : s
    }
}
