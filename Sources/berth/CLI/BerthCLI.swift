import ArgumentParser
import Glibc
import RPC

/// Runs the root command and turns every failure into Docker's wording and
/// exit status:
///
/// | failure | printed on stderr | status |
/// | --- | --- | --- |
/// | berthd answered with an error | `Error response from daemon: MESSAGE` | 1 |
/// | berthd cannot be reached | `Cannot connect to the berth daemon at unix:///…. Is berthd running?` | 1 |
/// | bad flags or arguments | `berth: MESSAGE` + `See 'berth COMMAND --help'.` | 125 |
/// | berth itself failed (CLIError) | `berth: MESSAGE` | its status (125 by default) |
/// | a `--format` template is wrong | `template parsing error: …` | 1 |
enum BerthCLI {
    static func main(_ given: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let arguments = ArgumentRewriter.rewrite(given)
        do {
            var command = try Berth.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch let e as BerthError {
            printError(e.fromDaemon ? "Error response from daemon: \(e.message)" : e.message)
            exit(1)
        } catch let e as CLIError {
            printError("berth: \(e.message)")
            exit(e.status)
        } catch let e as TemplateError {
            printError("template parsing error: \(e.message)")
            exit(1)
        } catch {
            let code = Berth.exitCode(for: error)
            if code == .success {
                // --help, --version
                print(Berth.fullMessage(for: error))
                exit(0)
            }
            printError("berth: \(Berth.message(for: error))")
            printError("See 'berth \(subcommandName(arguments))--help'.")
            exit(125)
        }
    }

    /// "image ls " for `berth image ls --bogus`, so the hint names the command.
    private static func subcommandName(_ arguments: [String]) -> String {
        var names: [String] = []
        var level: [ParsableCommand.Type] = Berth.configuration.subcommands
        var skip = false
        for a in arguments {
            if skip { skip = false; continue }
            if a == "-H" || a == "--host" { skip = true; continue }
            if a.hasPrefix("-") { continue }
            guard let sub = level.first(where: { $0.configuration.commandName == a || $0.configuration.aliases.contains(a) }) else { break }
            names.append(a)
            level = sub.configuration.subcommands
        }
        return names.map { $0 + " " }.joined()
    }

    static func printError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
