import Glibc
import OCI
import Runtime

/// One runc command: its options, usage, and what it does. Returns the exit code.
struct Command: Sendable {
    let name: String
    let synopsis: String
    let summary: String
    let options: [OptionSpec]
    let run: @Sendable (Runtime, ParsedCommand) throws -> Int32
}

private let createOptions: [OptionSpec] = [
    OptionSpec(names: ["bundle", "b"], takesValue: true, help: "path to the root of the bundle directory (default: current directory)"),
    OptionSpec(names: ["console-socket"], takesValue: true, help: "unix socket to receive the pty master over (SCM_RIGHTS)"),
    OptionSpec(names: ["pidfd-socket"], takesValue: true, help: "not supported yet"),
    OptionSpec(names: ["pid-file"], takesValue: true, help: "file to write the container init's pid to (atomically)"),
    OptionSpec(names: ["no-pivot"], takesValue: false, help: "use MS_MOVE and chroot instead of pivot_root"),
    OptionSpec(names: ["no-new-keyring"], takesValue: false, help: "do not create a new session keyring"),
    OptionSpec(names: ["preserve-fds"], takesValue: true, help: "pass N extra fds (3 to 3+N-1) to the container"),
]

private func createOpts(_ p: ParsedCommand) throws -> CreateOptions {
    var o = CreateOptions()
    o.bundle = p.string("bundle") ?? "."
    o.consoleSocket = p.string("console-socket")
    o.pidFile = p.string("pid-file")
    o.noPivot = p.bool("no-pivot")
    o.noNewKeyring = p.bool("no-new-keyring")
    if p.string("pidfd-socket") != nil { throw RuntimeError("--pidfd-socket is not supported by berth-runtime yet") }
    o.preserveFDs = try preservedFDs(p.string("preserve-fds"))
    return o
}

/// --preserve-fds plus systemd socket activation's LISTEN_FDS, as runc counts them.
private func preservedFDs(_ flag: String?) throws -> Int32 {
    var n: Int32 = 0
    if let flag {
        guard let v = Int32(flag), v >= 0 else { throw RuntimeError("invalid --preserve-fds value \(flag.debugDescription)") }
        n = v
    }
    if let lf = getenv("LISTEN_FDS"), let v = Int32(String(cString: lf)), v > 0 { n += v }
    return n
}

private func id(_ p: ParsedCommand, _ command: String, extra: Bool = false) throws -> String {
    guard let first = p.positional.first else {
        throw UsageError(message: "\"\(command)\" requires a container id")
    }
    if !extra && p.positional.count > 1 {
        throw UsageError(message: "\"\(command)\" takes exactly one container id, got \(p.positional.count) arguments")
    }
    return first
}

let commands: [Command] = [
    Command(name: "create", synopsis: "[command options] <container-id>", summary: "create a container", options: createOptions) { rt, p in
        try rt.create(id: try id(p, "create"), try createOpts(p))
        return 0
    },
    Command(name: "start", synopsis: "<container-id>", summary: "start the user process of a created container", options: []) { rt, p in
        try rt.start(id: try id(p, "start"))
        return 0
    },
    Command(name: "run", synopsis: "[command options] <container-id>", summary: "create and start a container",
            options: createOptions + [
                OptionSpec(names: ["detach", "d"], takesValue: false, help: "detach from the container's process"),
                OptionSpec(names: ["keep"], takesValue: false, help: "do not delete the container after it exits"),
                OptionSpec(names: ["no-subreaper"], takesValue: false, help: "accepted for compatibility"),
            ]) { rt, p in
        try rt.run(id: try id(p, "run"), try createOpts(p), detach: p.bool("detach"), keep: p.bool("keep"))
    },
    Command(name: "state", synopsis: "<container-id>", summary: "output the state of a container", options: []) { rt, p in
        print(try rt.state(id: try id(p, "state")))
        return 0
    },
    Command(name: "kill", synopsis: "[command options] <container-id> [signal]", summary: "send a signal to the container's init (default SIGTERM)",
            options: [OptionSpec(names: ["all", "a"], takesValue: false, help: "send the signal to every process in the container")]) { rt, p in
        let cid = try id(p, "kill", extra: true)
        guard p.positional.count <= 2 else { throw UsageError(message: "\"kill\" takes a container id and an optional signal") }
        let sig = p.positional.count == 2 ? try Runtime.signal(named: p.positional[1]) : SIGTERM
        try rt.kill(id: cid, signal: sig, all: p.bool("all"))
        return 0
    },
    Command(name: "delete", synopsis: "[command options] <container-id>", summary: "delete a container and what it holds",
            options: [OptionSpec(names: ["force", "f"], takesValue: false, help: "kill the container first if it is running")]) { rt, p in
        try rt.delete(id: try id(p, "delete"), force: p.bool("force"))
        return 0
    },
    Command(name: "list", synopsis: "[command options]", summary: "list the containers under --root",
            options: [OptionSpec(names: ["format", "f"], takesValue: true, help: "table or json"),
                      OptionSpec(names: ["quiet", "q"], takesValue: false, help: "print only the ids")]) { rt, p in
        guard let format = Runtime.ListFormat(rawValue: p.string("format") ?? "table") else {
            throw UsageError(message: "invalid format option \(p.string("format")!.debugDescription): use table or json")
        }
        print(try rt.list(format: format, quiet: p.bool("quiet")), terminator: "")
        return 0
    },
    Command(name: "ps", synopsis: "[command options] <container-id> [ps options]", summary: "list the processes in a container",
            options: [OptionSpec(names: ["format", "f"], takesValue: true, help: "table or json")]) { rt, p in
        let pids = try rt.pids(id: try id(p, "ps", extra: true))
        switch p.string("format") ?? "table" {
        case "json": print(JSONWriter.write(.array(pids.map { .int($0) })))
        case "table": print("PID\n" + pids.map { String($0) }.joined(separator: "\n"))
        case let f: throw UsageError(message: "invalid format option \(f.debugDescription): use table or json")
        }
        return 0
    },
    Command(name: "exec", synopsis: "[command options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
            summary: "run a new process inside a container",
            options: [
                OptionSpec(names: ["console-socket"], takesValue: true, help: "unix socket to receive the pty master over"),
                OptionSpec(names: ["pidfd-socket"], takesValue: true, help: "not supported yet"),
                OptionSpec(names: ["cwd"], takesValue: true, help: "working directory in the container"),
                OptionSpec(names: ["env", "e"], takesValue: true, help: "set an environment variable (repeatable)"),
                OptionSpec(names: ["tty", "t"], takesValue: false, help: "allocate a pseudo-terminal"),
                OptionSpec(names: ["user", "u"], takesValue: true, help: "uid[:gid]"),
                OptionSpec(names: ["additional-gids", "g"], takesValue: true, help: "additional gid (repeatable)"),
                OptionSpec(names: ["process", "p"], takesValue: true, help: "path to a process.json"),
                OptionSpec(names: ["detach", "d"], takesValue: false, help: "detach from the process"),
                OptionSpec(names: ["pid-file"], takesValue: true, help: "file to write the process's pid to"),
                OptionSpec(names: ["process-label"], takesValue: true, help: "SELinux label of the process"),
                OptionSpec(names: ["apparmor"], takesValue: true, help: "AppArmor profile of the process"),
                OptionSpec(names: ["no-new-privs"], takesValue: false, help: "set no_new_privs"),
                OptionSpec(names: ["cap", "c"], takesValue: true, help: "add a capability (repeatable)"),
                OptionSpec(names: ["preserve-fds"], takesValue: true, help: "pass N extra fds to the process"),
                OptionSpec(names: ["ignore-paused"], takesValue: false, help: "exec even if the container is paused"),
                OptionSpec(names: ["cgroup"], takesValue: true, help: "not supported yet"),
            ]) { rt, p in
        let cid = try id(p, "exec", extra: true)
        var o = ExecOptions()
        o.processFile = p.string("process")
        o.args = Array(p.positional.dropFirst())
        if o.processFile == nil && o.args.isEmpty { throw UsageError(message: "\"exec\" requires a command or --process") }
        o.tty = p.bool("tty")
        o.consoleSocket = p.string("console-socket")
        o.detach = p.bool("detach")
        o.pidFile = p.string("pid-file")
        o.cwd = p.string("cwd")
        o.env = p.all("env")
        o.user = p.string("user")
        o.additionalGids = try p.all("additional-gids").map { g in
            guard let v = UInt32(g) else { throw RuntimeError("invalid --additional-gids value \(g.debugDescription)") }
            return v
        }
        o.caps = p.all("cap")
        o.noNewPrivs = p.bool("no-new-privs")
        o.ignorePaused = p.bool("ignore-paused")
        o.preserveFDs = try preservedFDs(p.string("preserve-fds"))
        o.apparmorProfile = p.string("apparmor")
        o.processLabel = p.string("process-label")
        for unsupported in ["pidfd-socket", "cgroup"] where p.string(unsupported) != nil {
            throw RuntimeError("--\(unsupported) is not supported by berth-runtime yet")
        }
        return try rt.exec(id: cid, o)
    },
    Command(name: "pause", synopsis: "<container-id>", summary: "freeze every process in the container", options: []) { rt, p in
        try rt.pause(id: try id(p, "pause"))
        return 0
    },
    Command(name: "resume", synopsis: "<container-id>", summary: "thaw a paused container", options: []) { rt, p in
        try rt.resume(id: try id(p, "resume"))
        return 0
    },
    Command(name: "update", synopsis: "[command options] <container-id>", summary: "update container resource constraints",
            options: [
                OptionSpec(names: ["resources", "r"], takesValue: true,
                           help: "file with the LinuxResources JSON to apply, or - for stdin (the other options are then ignored)"),
                OptionSpec(names: ["blkio-weight"], takesValue: true, help: "per-cgroup block I/O weight, 10 to 1000"),
                OptionSpec(names: ["cpu-period"], takesValue: true, help: "CPU CFS period (microseconds)"),
                OptionSpec(names: ["cpu-quota"], takesValue: true, help: "CPU CFS quota per period (microseconds), -1 for none"),
                OptionSpec(names: ["cpu-share", "cpu-shares"], takesValue: true, help: "CPU shares (relative weight)"),
                OptionSpec(names: ["cpu-rt-period"], takesValue: true, help: "CPU realtime period (microseconds)"),
                OptionSpec(names: ["cpu-rt-runtime"], takesValue: true, help: "CPU realtime runtime per period (microseconds)"),
                OptionSpec(names: ["cpuset-cpus"], takesValue: true, help: "CPUs to use, e.g. 0-2,4"),
                OptionSpec(names: ["cpuset-mems"], takesValue: true, help: "memory nodes to use"),
                OptionSpec(names: ["kernel-memory"], takesValue: true, help: "kernel memory limit (obsolete)"),
                OptionSpec(names: ["kernel-memory-tcp"], takesValue: true, help: "kernel TCP buffer limit (obsolete)"),
                OptionSpec(names: ["memory"], takesValue: true, help: "memory limit in bytes (100M, 1g, …), -1 for none"),
                OptionSpec(names: ["memory-reservation"], takesValue: true, help: "memory soft limit in bytes"),
                OptionSpec(names: ["memory-swap"], takesValue: true, help: "memory plus swap limit in bytes, -1 for unlimited swap"),
                OptionSpec(names: ["pids-limit"], takesValue: true, help: "maximum number of processes, -1 for none"),
                OptionSpec(names: ["l3-cache-schema"], takesValue: true, help: "Intel RDT L3 cache schema (not supported)"),
                OptionSpec(names: ["mem-bw-schema"], takesValue: true, help: "Intel RDT memory bandwidth schema (not supported)"),
            ]) { rt, p in
        var o = UpdateOptions()
        o.resourcesFile = p.string("resources")
        // "cpu-shares" is an alias: the parser files it under the first name, "cpu-share".
        for name in UpdateOptions.flagNames { if let v = p.string(name) { o.flags[name] = v } }
        try rt.update(id: try id(p, "update"), o)
        return 0
    },
    Command(name: "events", synopsis: "[command options] <container-id>",
            summary: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
            options: [
                OptionSpec(names: ["interval"], takesValue: true, help: "set the stats collection interval (default: 5s)"),
                OptionSpec(names: ["stats"], takesValue: false, help: "display the container's stats then exit"),
            ]) { rt, p in
        try rt.events(id: try id(p, "events"), statsOnly: p.bool("stats"), interval: p.string("interval") ?? "5s") { line in
            print(line)
            // Streamed to a pipe: each event must leave at once, not when a buffer fills.
            fflush(nil)
        }
        return 0
    },
    Command(name: "spec", synopsis: "[command options]", summary: "write a default config.json",
            options: [OptionSpec(names: ["bundle", "b"], takesValue: true, help: "directory to write config.json into"),
                      OptionSpec(names: ["rootless"], takesValue: false, help: "a config for a non-root caller")]) { _, p in
        try Runtime.writeDefaultSpec(bundle: p.string("bundle") ?? ".", rootless: p.bool("rootless"))
        return 0
    },
    Command(name: "features", synopsis: "", summary: "show what this runtime implements (JSON)", options: []) { _, _ in
        print(JSONWriter.write(Features.json(), indent: true))
        return 0
    },
    Command(name: "validate", synopsis: "[command options]", summary: "check a bundle's config.json against the runtime spec (berth extension)",
            options: [OptionSpec(names: ["bundle", "b"], takesValue: true, help: "the bundle directory")]) { _, p in
        try Runtime.validateBundle(p.string("bundle") ?? ".")
        print("config.json is valid")
        return 0
    },
]

/// runc commands berth-runtime does not have yet: a clear error instead of "unknown command".
let notYet = ["checkpoint", "restore"]
