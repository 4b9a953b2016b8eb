import CBerth
import Glibc
import OCI
import Runtime

// berth-runtime: a runc-compatible OCI runtime. This file only parses the
// command line and maps errors to runc's conventions (message on stderr and
// in --log, exit status 1); the work is in the Runtime module.

let globalOptions: [OptionSpec] = [
    OptionSpec(names: ["root"], takesValue: true, help: "state directory (default: /run/berth-runtime)"),
    OptionSpec(names: ["log"], takesValue: true, help: "log file for errors and debug output"),
    OptionSpec(names: ["log-format"], takesValue: true, help: "text or json"),
    OptionSpec(names: ["debug"], takesValue: false, help: "log debug output"),
    OptionSpec(names: ["systemd-cgroup"], takesValue: false, help: "read cgroupsPath as slice:prefix:name"),
    OptionSpec(names: ["rootless"], takesValue: true, help: "true, false or auto (accepted for compatibility)"),
    OptionSpec(names: ["criu"], takesValue: true, help: "accepted for compatibility; checkpointing is not supported"),
    OptionSpec(names: ["version", "v"], takesValue: false, help: "print the version"),
    OptionSpec(names: ["help", "h"], takesValue: false, help: "show help"),
]

func mainUsage() -> String {
    var s = "NAME:\n   berth-runtime - run OCI containers (runc-compatible)\n\nUSAGE:\n   berth-runtime [global options] command [command options] [arguments...]\n\nCOMMANDS:\n"
    for c in commands { s += "   " + c.name + String(repeating: " ", count: max(1, 12 - c.name.count)) + c.summary + "\n" }
    s += "\nGLOBAL OPTIONS:\n"
    for o in globalOptions {
        let flags = o.names.map { $0.count == 1 ? "-\($0)" : "--\($0)" }.joined(separator: ", ") + (o.takesValue ? " value" : "")
        s += "   " + flags + String(repeating: " ", count: max(1, 28 - flags.count)) + o.help + "\n"
    }
    return s
}

func fail(_ message: String, log: RuntimeLog) -> Never {
    log.error(message)
    cb_write_stderr("berth-runtime: \(message)\n")
    exit(1)
}

func main() -> Never {
// create, run and exec re-execute through a read-only view of this binary
// (ExecutableSeal); done in C before anything else when it can be.
cb_seal_reexec(CommandLine.argc, CommandLine.unsafeArgv)
var log = RuntimeLog()
do {
    let (globals, rest) = try parse(CommandLine.arguments.dropFirst(), globalOptions)
    var options = RuntimeOptions()
    if let root = globals.string("root") { options.root = root }
    if let format = globals.string("log-format") {
        guard let f = RuntimeLog.Format(rawValue: format) else { throw UsageError(message: "invalid log-format \(format.debugDescription): use text or json") }
        options.log.format = f
    }
    options.log.path = globals.string("log")
    options.log.debug = globals.bool("debug")
    options.systemdCgroup = globals.bool("systemd-cgroup")
    options.rootless = globals.string("rootless")
    log = options.log
    if globals.bool("version") {
        print("berth-runtime version \(RuntimeInfo.version)\nspec: \(RuntimeInfo.ociVersion)")
        exit(0)
    }
    guard let name = rest.first else {
        print(mainUsage(), terminator: "")
        exit(globals.bool("help") ? 0 : 1)
    }
    if name == "help" {
        if rest.count > 1, let c = commands.first(where: { $0.name == rest[rest.startIndex + 1] }) {
            print(usageText(c.name, c.synopsis, c.summary, c.options), terminator: "")
        } else {
            print(mainUsage(), terminator: "")
        }
        exit(0)
    }
    if notYet.contains(name) { fail("\"\(name)\" is not supported by berth-runtime yet", log: log) }
    guard let command = commands.first(where: { $0.name == name }) else {
        fail("unknown command \(name.debugDescription) (see berth-runtime --help)", log: log)
    }
    let specs = command.options + [OptionSpec(names: ["help", "h"], takesValue: false, help: "show help")]
    let (parsed, positional) = try parse(rest.dropFirst(), specs)
    if parsed.bool("help") {
        print(usageText(command.name, command.synopsis, command.summary, command.options), terminator: "")
        exit(0)
    }
    var full = parsed
    full.positional += positional
    // Commands that put processes into containers run from a read-only view of
    // this binary (CVE-2019-5736); see ExecutableSeal.
    if ["create", "run", "exec"].contains(name) { ExecutableSeal.ensure(arguments: CommandLine.arguments, log: log) }
    let runtime = Runtime(options: options)
    exit(try command.run(runtime, full))
} catch let e as RuntimeError {
    fail(e.message, log: log)
} catch let e as UsageError {
    fail(e.message, log: log)
} catch {
    fail("\(error)", log: log)
}
}

main()
