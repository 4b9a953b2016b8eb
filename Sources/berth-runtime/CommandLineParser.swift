/// runc's command-line grammar, parsed by a table: global options before the
/// command; the command's options anywhere before its first positional
/// argument; `--flag value`, `--flag=value`, `-f value`; booleans as `--flag`
/// or `--flag=true|false`. Everything from the first positional on is positional
/// (so `exec ID sh -c …` keeps its `-c`).
struct OptionSpec: Sendable {
    let names: [String]
    let takesValue: Bool
    let help: String
    var key: String { names[0] }
}

struct ParsedCommand {
    var values: [String: [String]] = [:]
    var positional: [String] = []

    func string(_ key: String) -> String? { values[key]?.last }
    func all(_ key: String) -> [String] { values[key] ?? [] }
    func bool(_ key: String) -> Bool {
        guard let v = values[key]?.last else { return false }
        return v != "false"
    }
}

struct UsageError: Error { let message: String }

func parse(_ args: ArraySlice<String>, _ specs: [OptionSpec], stopAtPositional: Bool = true) throws(UsageError) -> (ParsedCommand, ArraySlice<String>) {
    var out = ParsedCommand()
    var rest = args
    while let arg = rest.first {
        if arg == "--" { rest = rest.dropFirst(); out.positional += rest; return (out, []) }
        guard arg.hasPrefix("-"), arg != "-" else {
            if stopAtPositional { return (out, rest) }
            out.positional.append(arg)
            rest = rest.dropFirst()
            continue
        }
        rest = rest.dropFirst()
        var name = arg
        var inline: String?
        if let eq = arg.firstIndex(of: "=") {
            name = String(arg[..<eq])
            inline = String(arg[arg.index(after: eq)...])
        }
        // Go's flag package accepts -flag and --flag alike.
        let bare = name.hasPrefix("--") ? String(name.dropFirst(2)) : String(name.dropFirst())
        guard let spec = specs.first(where: { $0.names.contains(bare) }) else {
            throw UsageError(message: "flag provided but not defined: -\(bare)")
        }
        if spec.takesValue {
            if let inline { out.values[spec.key, default: []].append(inline); continue }
            guard let v = rest.first else { throw UsageError(message: "flag needs an argument: -\(bare)") }
            out.values[spec.key, default: []].append(v)
            rest = rest.dropFirst()
        } else {
            let v = inline ?? "true"
            guard v == "true" || v == "false" || v == "1" || v == "0" else {
                throw UsageError(message: "invalid boolean value \(v.debugDescription) for -\(bare)")
            }
            out.values[spec.key, default: []].append(v == "1" ? "true" : v == "0" ? "false" : v)
        }
    }
    return (out, rest)
}

func usageText(_ command: String, _ synopsis: String, _ summary: String, _ specs: [OptionSpec]) -> String {
    var s = "NAME:\n   berth-runtime \(command) - \(summary)\n\nUSAGE:\n   berth-runtime \(command) \(synopsis)\n"
    if !specs.isEmpty {
        s += "\nOPTIONS:\n"
        for o in specs {
            let flags = o.names.map { $0.count == 1 ? "-\($0)" : "--\($0)" }.joined(separator: ", ") + (o.takesValue ? " value" : "")
            s += "   " + flags + String(repeating: " ", count: max(1, 34 - flags.count)) + o.help + "\n"
        }
    }
    return s
}
