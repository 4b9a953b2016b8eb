/// Docker's command line, made into one argument-parser reads the same way.
///
/// - `run`, `create` and `exec` end their options at the image (or the
///   container): what follows is the container's command, even when it looks
///   like an option. They capture it with `.captureForPassthrough`, which
///   stops the root command from reading the global options (`-H`, `--debug`)
///   placed after the command name; those are moved in front of it here, and
///   `--help` among their options becomes `help COMMAND`.
/// - Boolean flags take Docker's `--flag=true` / `--flag=false`
///   (`--sig-proxy=false` is argument-parser's `--no-sig-proxy`).
enum ArgumentRewriter {
    /// Commands whose first positional argument ends their options.
    static let passthrough: Set<String> = ["run", "create", "exec"]
    /// Flags that take no value in those commands (all others take one).
    static let boolLongs: Set<String> = ["--interactive", "--tty", "--detach", "--rm", "--init", "--read-only", "--privileged",
                                         "--publish-all", "--sig-proxy", "--no-sig-proxy", "--help", "--debug", "--disable-content-trust"]
    static let boolShorts: Set<Character> = ["i", "t", "d", "P"]
    /// Boolean flags whose default is true (`--x=false` is `--no-x`).
    static let defaultTrue: Set<String> = ["sig-proxy", "pause"]
    /// Boolean flags of any command (`--x=false` drops them, `--x=true` is `--x`).
    static let booleans: Set<String> = ["interactive", "tty", "detach", "rm", "init", "read-only", "privileged", "publish-all",
                                        "all", "quiet", "no-trunc", "size", "latest", "force", "volumes", "link", "follow",
                                        "timestamps", "no-stream", "no-stdin", "attach", "digests", "debug", "archive",
                                        "follow-link"]

    static func rewrite(_ args: [String]) -> [String] {
        var args = args.map(booleanValue).compactMap { $0 }
        // Find the command: the first non-option word, or `container CMD`.
        var globals: [String] = []
        var i = 0
        while i < args.count, args[i].hasPrefix("-") {
            i += (args[i] == "-H" || args[i] == "--host") ? 2 : 1
        }
        guard i < args.count else { return args }
        var commandEnd = i + 1
        var command = args[i]
        if command == "container", commandEnd < args.count {
            command = args[commandEnd]
            commandEnd += 1
        }
        guard passthrough.contains(command) else { return args }
        var j = commandEnd
        while j < args.count {
            let a = args[j]
            if a == "--" || !a.hasPrefix("-") || a == "-" { break }
            if a == "-H" || a == "--host" {
                globals += args[j..<min(j + 2, args.count)]
                args.removeSubrange(j..<min(j + 2, args.count))
                continue
            }
            if a.hasPrefix("--host=") || a == "--debug" {
                globals.append(a)
                args.remove(at: j)
                continue
            }
            if a == "--help" {
                return ["help"] + args[i..<commandEnd]
            }
            j += takesValue(a) ? 2 : 1
        }
        return globals + args
    }

    /// `--x=true` → `--x`; `--x=false` → nothing, or `--no-x` when x defaults to true.
    static func booleanValue(_ a: String) -> String? {
        guard a.hasPrefix("--"), let eq = a.firstIndex(of: "=") else { return a }
        let name = String(a[a.index(a.startIndex, offsetBy: 2)..<eq])
        let value = a[a.index(after: eq)...].lowercased()
        guard booleans.contains(name) || defaultTrue.contains(name) else { return a }
        switch value {
        case "true", "1": return "--" + name
        case "false", "0": return defaultTrue.contains(name) ? "--no-" + name : nil
        default: return a
        }
    }

    /// Whether an option of run/create/exec consumes the next word.
    static func takesValue(_ a: String) -> Bool {
        if a.hasPrefix("--") { return !a.contains("=") && !boolLongs.contains(a) }
        let letters = Array(a.dropFirst())
        // A pack of flags (-it, -itd) takes no value; "-p8080:80" carries its own.
        if let k = letters.firstIndex(where: { !boolShorts.contains($0) }) { return k == letters.count - 1 }
        return false
    }
}
