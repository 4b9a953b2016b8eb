import ArgumentParser
import Glibc
import OCI
import RPC

/// `berth top CONTAINER [ps OPTIONS]`: the container's processes as ps prints them.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "Display the running processes of a container")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var container: String
    @Argument(parsing: .captureForPassthrough, help: "ps OPTIONS") var psArgs: [String] = []

    func run() throws {
        let r: BerthAPI.ContainerTopResult = try global.client().call(.containerTop,
            BerthAPI.ContainerTopParams(id: container, psArgs: psArgs.isEmpty ? nil : psArgs.joined(separator: " ")))
        Output.write(TopCommand.render(r))
    }

    /// Docker's top table: tabwriter with minimum width 20, padding 3.
    static func render(_ r: BerthAPI.ContainerTopResult) -> String {
        var t = TableWriter()
        t.minWidth = 20
        t.add(r.titles)
        for p in r.processes { t.add(p) }
        return t.render()
    }
}

/// `berth diff`: what changed in the container's filesystem (A, C, D lines).
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Inspect changes to files or directories on a container's filesystem")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var container: String

    func run() throws {
        let changes: [BerthAPI.ContainerChange] = try global.client().call(.containerDiff, BerthAPI.ContainerRef(id: container))
        Output.write(DiffCommand.render(changes))
    }

    static func render(_ changes: [BerthAPI.ContainerChange]) -> String {
        changes.map { c in
            let kind = c.kind == 1 ? "A" : c.kind == 2 ? "D" : "C"
            return "\(kind) \(c.path)\n"
        }.joined()
    }
}

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List port mappings or a specific mapping for the container")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "CONTAINER") var container: String
    @Argument(help: "PRIVATE_PORT[/PROTO]") var port: String?

    func run() throws {
        let mappings: [BerthAPI.PortMapping] = try global.client().call(.containerPort, BerthAPI.ContainerRef(id: container))
        if let port {
            let want = port.contains("/") ? port : port + "/tcp"
            let hits = mappings.filter { $0.containerPort == want }
            guard !hits.isEmpty else { throw ContainerCLI.fail("Error: No public port '\(want)' published for \(container)") }
            for m in hits { Output.line(ContainerRow.joinHostPort(m.hostIp.isEmpty ? "0.0.0.0" : m.hostIp, m.hostPort)) }
            return
        }
        Output.write(PortCommand.render(mappings))
    }

    /// "80/tcp -> 0.0.0.0:8080", sorted by port as Docker prints them.
    static func render(_ mappings: [BerthAPI.PortMapping]) -> String {
        func num(_ p: String) -> Int { Int(p.split(separator: "/").first ?? "") ?? 0 }
        return mappings.sorted { (num($0.containerPort), $0.containerPort, $0.hostIp) < (num($1.containerPort), $1.containerPort, $1.hostIp) }
            .map { "\($0.containerPort) -> \(ContainerRow.joinHostPort($0.hostIp.isEmpty ? "0.0.0.0" : $0.hostIp, $0.hostPort))\n" }
            .joined()
    }
}

/// `berth commit`: a new image from the container's changes; prints its id.
struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commit", abstract: "Create a new image from a container's changes")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("a"), .long], help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")") var author: String?
    @Option(name: [.customShort("c"), .long], help: "Apply Dockerfile instruction to the created image") var change: [String] = []
    @Option(name: [.customShort("m"), .long], help: "Commit message") var message: String?
    @Flag(name: [.customShort("p"), .long], inversion: .prefixedNo, help: "Pause container during commit") var pause = true
    @Argument(help: "CONTAINER") var container: String
    @Argument(help: "[REPOSITORY[:TAG]]") var reference: String?

    func run() throws {
        let r: BerthAPI.ContainerCommitResult = try global.client().call(.containerCommit,
            BerthAPI.ContainerCommitParams(id: container, reference: reference, comment: message, author: author,
                                           changes: change.isEmpty ? nil : change, pause: pause))
        Output.line(r.id)
    }
}

/// `berth export`: the container's filesystem as a tar, to `-o FILE` or stdout.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a container's filesystem as a tar archive")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "Write to a file, instead of STDOUT") var output: String?
    @Argument(help: "CONTAINER") var container: String

    func run() throws {
        let client = try global.client()
        if let output {
            let _: NoParams = try client.call(.containerExport, BerthAPI.ContainerExportParams(id: container, path: FIFOPipe.absolute(output)))
            return
        }
        try ContainerCLI.refuseTerminal()
        try ContainerCLI.throughFIFO(reading: true, fd: STDOUT_FILENO) { path in
            let _: NoParams = try client.call(.containerExport, BerthAPI.ContainerExportParams(id: container, path: path))
        }
    }
}

extension ContainerCLI {
    /// Runs `call` with the path of a FIFO that a thread copies to `fd`
    /// (`reading`: berthd writes the FIFO) or fills from `fd`.
    static func throughFIFO(reading: Bool, fd: Int32, _ call: (String) throws -> Void) throws {
        let fifo = try FIFOPipe()
        defer { fifo.remove() }
        let copier = reading ? try fifo.copy(toFD: fd) : try fifo.copy(fromFD: fd)
        let result = Result { try call(fifo.path) }
        if case .failure = result { fifo.unblock(reading: reading) }
        copier.join()
        try result.get()
    }
}

/// `berth update`: resources and restart policy of containers.
struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Update configuration of one or more containers")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("m"), .long], help: "Memory limit") var memory: String?
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: "Swap limit equal to memory plus swap: -1 to enable unlimited swap") var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit") var memoryReservation: String?
    @Option(name: .long, help: "Number of CPUs") var cpus: String?
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "CPU shares (relative weight)") var cpuShares: Int64?
    @Option(name: .customLong("cpu-period"), help: "Limit CPU CFS (Completely Fair Scheduler) period") var cpuPeriod: Int64?
    @Option(name: .customLong("cpu-quota"), parsing: .unconditional, help: "Limit CPU CFS (Completely Fair Scheduler) quota") var cpuQuota: Int64?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs in which to allow execution (0-3, 0,1)") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "MEMs in which to allow execution (0-3, 0,1)") var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: "Tune container pids limit (set -1 for unlimited)") var pidsLimit: Int64?
    @Option(name: .long, help: "Restart policy to apply when a container exits") var restart: String?
    @Argument(help: "CONTAINER") var containers: [String] = []

    func validate() throws { if containers.isEmpty { throw ValidationError("\"update\" requires at least 1 argument.") } }

    func params(_ id: String) throws(OptionError) -> BerthAPI.ContainerUpdateParams {
        var p = BerthAPI.ContainerUpdateParams(id: id)
        if let memory { p.memory = try OptionError.wrap("-m, --memory", memory) { () throws(OptionError) in try ByteSize.parse(memory) } }
        if let memorySwap { p.memorySwap = try OptionError.wrap("--memory-swap", memorySwap) { () throws(OptionError) in try ByteSize.parseSwap(memorySwap) } }
        if let memoryReservation {
            p.memoryReservation = try OptionError.wrap("--memory-reservation", memoryReservation) { () throws(OptionError) in try ByteSize.parse(memoryReservation) }
        }
        if let cpus { p.nanoCpus = try OptionError.wrap("--cpus", cpus) { () throws(OptionError) in try ByteSize.nanoCPUs(cpus) } }
        p.cpuShares = cpuShares
        p.cpuPeriod = cpuPeriod
        p.cpuQuota = cpuQuota
        p.cpusetCpus = cpusetCpus
        p.cpusetMems = cpusetMems
        p.pidsLimit = pidsLimit
        if let restart { p.restartPolicy = try OptionError.wrap("--restart", restart) { () throws(OptionError) in try RestartSpec.parse(restart) } }
        return p
    }

    func run() throws {
        do { _ = try params("") } catch { throw CLIError("\(error.message)\nSee 'berth update --help'.", status: 125) }
        let all = [memory, memorySwap, memoryReservation, cpus, cpusetCpus, cpusetMems, restart].contains { $0 != nil }
            || [cpuShares, cpuPeriod, cpuQuota, pidsLimit].contains { $0 != nil }
        if !all { throw ContainerCLI.fail("you must provide one or more flags when using this command") }
        let client = try global.client()
        try ContainerCLI.eachOrExit(containers) { ref in
            let _: NoParams = try client.call(.containerUpdate, try params(ref))
        }
    }
}
