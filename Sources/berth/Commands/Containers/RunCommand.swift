import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth run`: create and start a container; `-d` prints its id, otherwise
/// berth stays attached and exits with the container's status.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and run a new container from an image",
                                                    helpNames: [.long])

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("d"), .long], help: "Run container in background and print container ID") var detach = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Flag(name: .customLong("sig-proxy"), inversion: .prefixedNo, help: "Proxy received signals to the process") var sigProxy = true
    @OptionGroup var options: CreateOptions

    func run() throws {
        do { try options.checkImage("run") } catch let e as ValidationError { throw CLIError("\(e.message)\nSee 'berth run --help'.", status: 125) }
        let keys: DetachKeys
        do { keys = try detachKeys.map { try DetachKeys($0) } ?? .default } catch {
            throw CLIError("Invalid detach keys (\(detachKeys ?? "")) provided\nSee 'berth run --help'.", status: 125)
        }
        if options.tty && options.interactive && !detach && isatty(STDIN_FILENO) != 1 {
            throw ContainerCLI.fail("the input device is not a TTY")
        }
        let client = try global.client()
        let created = try ContainerCreator(options: options, global: global, verb: "run").create(client, attached: !detach)
        let id = created.id

        if detach {
            do {
                let _: NoParams = try client.call(.containerStart, BerthAPI.ContainerRef(id: id))
            } catch {
                throw ContainerCLI.runFailure(error, verb: "run")
            }
            Output.line(id)
            return
        }

        var session = StreamSession()
        session.stdin = options.interactive
        session.tty = options.tty
        session.detachKeys = keys
        session.proxySignalsTo = sigProxy && !options.tty ? id : nil
        session.host = global.resolvedHost
        let params = BerthAPI.ContainerAttachParams(id: id, stdin: options.interactive, start: true)
        let outcome: StreamSession.Outcome
        do {
            outcome = try session.run(client, .containerAttach, params: ContainerCLI.attachJSON(params, tty: options.tty))
        } catch {
            throw ContainerCLI.runFailure(error, verb: "run")
        }
        guard case .finished(let value) = outcome else { return }  // detached: the container goes on
        let result = try? JSONValueDecoder().decode(BerthAPI.ContainerAttachResult.self, from: value)
        var status = result?.exitCode
        if status == nil && !options.rm {
            status = (try? client.call(.containerWait, BerthAPI.ContainerWaitParams(id: id), as: BerthAPI.ContainerWaitResult.self))?.statusCode
        }
        // Docker's CLI returns once an --rm container is gone, so that the next
        // command does not see it (berthd removes it after the exit).
        if options.rm {
            let removed = try? client.call(.containerWait, BerthAPI.ContainerWaitParams(id: id, condition: "removed"), as: BerthAPI.ContainerWaitResult.self)
            if status == nil { status = removed?.statusCode }
        }
        if let status, status != 0 { throw ExitCode(Int32(truncatingIfNeeded: status)) }
    }
}

/// `berth create`: the container, not started; prints its id.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a new container", helpNames: [.long])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: CreateOptions

    func run() throws {
        do { try options.checkImage("create") } catch let e as ValidationError { throw CLIError("\(e.message)\nSee 'berth create --help'.", status: 125) }
        let client = try global.client()
        let created = try ContainerCreator(options: options, global: global, verb: "create").create(client, attached: false)
        Output.line(created.id)
    }
}

/// container.create with Docker's extras around it: the image pulled when
/// missing ("Unable to find image 'busybox:latest' locally" and the pull's
/// progress on stderr), `--cidfile`, and warnings; failures as status 125.
struct ContainerCreator {
    var options: CreateOptions
    var global: GlobalOptions
    var verb: String

    func create(_ client: BerthClient, attached: Bool) throws -> BerthAPI.ContainerCreateResult {
        let params: BerthAPI.ContainerCreateParams
        do { params = try options.params(attached: attached) } catch {
            throw CLIError("\(error.message)\nSee 'berth \(verb) --help'.", status: 125)
        }
        guard ["always", "missing", "never"].contains(options.pull) else {
            throw CLIError("invalid pull option: '\(options.pull)': must be one of \"always\", \"missing\" or \"never\"\nSee 'berth \(verb) --help'.", status: 125)
        }
        let cid = try options.cidfile.map { try CIDFile(path: $0, verb: verb) }
        do {
            if options.pull == "always" { try pull(client, quiet: false) }
            var attempt = ContainerCreator.call(client, params)
            if case .failure(let e) = attempt, e.fromDaemon, e.code == .notFound, e.message.hasPrefix("No such image"), options.pull == "missing" {
                BerthCLI.printError("Unable to find image '\(ContainerCreator.withTag(options.image))' locally")
                try pull(client, quiet: false)
                attempt = ContainerCreator.call(client, params)
            }
            let result = try attempt.get()
            for w in result.warnings { BerthCLI.printError("WARNING: \(w)") }
            try cid?.write(result.id)
            return result
        } catch let e as CLIError {
            cid?.remove()
            throw e
        } catch {
            cid?.remove()
            throw ContainerCLI.runFailure(error, verb: verb)
        }
    }

    // A function of its own: `catch let e as BerthError where …` around a
    // typed-throws call crashes this compiler (SILGen ownership error).
    private static func call(_ client: BerthClient, _ params: BerthAPI.ContainerCreateParams) -> Result<BerthAPI.ContainerCreateResult, BerthError> {
        do { return .success(try client.call(.containerCreate, params)) } catch { return .failure(error) }
    }

    /// The pull's progress goes to stderr (stdout carries only the id or the container's output).
    private func pull(_ client: BerthClient, quiet: Bool) throws {
        let saved = dup(STDOUT_FILENO)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        defer {
            dup2(saved, STDOUT_FILENO)
            close(saved)
        }
        let bars = ProgressPrinter(terminal: isatty(STDERR_FILENO) == 1, quiet: quiet)
        let _: BerthAPI.PullResult = try client.call(.imagePull, BerthAPI.PullParams(reference: options.image, auth: AuthFile.load().auth(for: options.image))) {
            (p: BerthAPI.PullProgress) in bars.show(p)
        }
        bars.end()
    }

    /// "busybox" → "busybox:latest", as Docker names the image it did not find.
    static func withTag(_ image: String) -> String {
        image.contains("@") || ReferenceText.hasTag(image) ? image : image + ":latest"
    }
}

/// `--cidfile`: refused when the file exists; created before the container
/// and removed when creating fails.
struct CIDFile {
    let path: String

    init(path: String, verb: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0 {
            throw CLIError("container ID file found, make sure the other container isn't running or delete \(path)\nSee 'berth \(verb) --help'.", status: 125)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CLIError("failed to create the container ID file: open \(path): \(String(cString: strerror(errno)))\nSee 'berth \(verb) --help'.", status: 125)
        }
        close(fd)
    }

    func write(_ id: String) throws {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError("failed to write the container ID to the file: \(String(cString: strerror(errno)))", status: 125) }
        StreamSession.write(fd, Array(id.utf8))
        close(fd)
    }

    func remove() { unlink(path) }
}
