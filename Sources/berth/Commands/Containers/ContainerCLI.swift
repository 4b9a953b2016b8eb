import ArgumentParser
import Glibc
import OCI
import RPC

/// What the container commands share: Docker's error lines and exit statuses.
enum ContainerCLI {
    /// "Error response from daemon: …" for berthd's errors, the message alone for the client's.
    static func message(_ error: any Error) -> String {
        if let e = error as? BerthError { return e.fromDaemon ? "Error response from daemon: \(e.message)" : e.message }
        if let e = error as? CLIError { return e.message }
        if let e = error as? OptionError { return e.message }
        return "\(error)"
    }

    /// Docker's status for a failed `run`/`create`/`start`: 127 when the
    /// command was not found, 126 when it could not be invoked, else 125.
    static func runStatus(_ message: String) -> Int32 {
        if message.contains("executable file not found") || message.contains("no such file or directory") { return 127 }
        if message.contains("permission denied") || message.contains("is a directory") { return 126 }
        return 125
    }

    /// A failure of `run`/`create` as Docker prints it (`berth: MESSAGE`,
    /// `See 'berth run --help'.`) with its status.
    static func runFailure(_ error: any Error, verb: String) -> CLIError {
        let m = message(error)
        var status = runStatus(m)
        // berthd's start error carries the status it recorded (data.exitCode).
        if let e = error as? BerthError, let code = e.data?["exitCode"]?.int64Value, code == 126 || code == 127 { status = Int32(code) }
        return CLIError("\(m)\nSee 'berth \(verb) --help'.", status: status)
    }

    /// Runs `body` for every reference, as Docker's multi-container commands
    /// do: the reference is printed on success, berthd's error on stderr
    /// otherwise, and the status is 1 if any failed. A client-side failure
    /// (berthd unreachable) ends the command at once.
    static func each(_ refs: [String], echo: Bool = true, _ body: (String) throws -> Void) throws {
        var failed: [String] = []
        for ref in refs {
            if let error = attempt(ref, body) {
                if let e = error as? BerthError, !e.fromDaemon { throw e }
                BerthCLI.printError(message(error))
                failed.append(ref)
            } else if echo {
                Output.line(ref)
            }
        }
        if !failed.isEmpty { throw FailedRefs(refs: failed) }
    }

    private static func attempt(_ ref: String, _ body: (String) throws -> Void) -> (any Error)? {
        do {
            try body(ref)
            return nil
        } catch {
            return error
        }
    }

    /// Some references failed (their errors are printed): status 1.
    struct FailedRefs: Error { var refs: [String] }

    /// Calls `each` and turns its failure into exit status 1, with an optional last line (`start`'s).
    static func eachOrExit(_ refs: [String], echo: Bool = true, summary: ((String) -> String)? = nil,
                           _ body: (String) throws -> Void) throws {
        do { try each(refs, echo: echo, body) } catch let f as FailedRefs {
            if let summary { BerthCLI.printError(summary(f.refs.joined(separator: ", "))) }
            throw ExitCode(1)
        }
    }

    /// Prints `message` on stderr as Docker prints a plain error (no "berth:"
    /// prefix) and returns the exit to throw.
    static func fail(_ message: String, status: Int32 = 1) -> ExitCode {
        BerthCLI.printError(message)
        return ExitCode(status)
    }

    /// The 12-character form of an id (`sha256:` dropped).
    static func short(_ id: String) -> String {
        String((id.hasPrefix("sha256:") ? id.dropFirst(7) : Substring(id)).prefix(12))
    }

    /// A typed JSON value as JSONValue (for templates).
    static func json<T: Encodable>(_ v: T) -> JSONValue { (try? JSONValueEncoder().encode(v)) ?? .null }

    /// container.attach's params with the terminal's size (width, height) when it has one.
    static func attachJSON(_ p: BerthAPI.ContainerAttachParams, tty: Bool) -> JSONValue {
        var v = json(p)
        if tty, let size = RawTerminal.size() {
            v = v.setting("width", to: .int(size.width)).setting("height", to: .int(size.height))
        }
        return v
    }

    /// Exits when stdout is a terminal (binary archives would be printed on it).
    static func refuseTerminal() throws {
        if isatty(STDOUT_FILENO) == 1 {
            throw CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", status: 1)
        }
    }
}
