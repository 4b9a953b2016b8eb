import Glibc

/// Signal names as `kill` accepts them: "KILL", "SIGKILL", "9", and real-time
/// signals as "RTMIN+3".
enum Signals {
    static let table: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP), ("ABRT", SIGABRT),
        ("IOT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1), ("SEGV", SIGSEGV),
        ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM), ("STKFLT", SIGSTKFLT),
        ("CHLD", SIGCHLD), ("CLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP), ("TTIN", SIGTTIN),
        ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ), ("VTALRM", SIGVTALRM),
        ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("POLL", SIGIO), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    /// "SIGSEGV" for 11; the number for signals without a name here.
    static func name(_ signal: Int32) -> String {
        table.first { $0.1 == signal }.map { "SIG" + $0.0 } ?? "signal \(signal)"
    }

    static func parse(_ text: String) throws(RuntimeError) -> Int32 {
        if let n = Int32(text) {
            guard n > 0 && n <= 64 else { throw RuntimeError("invalid signal: \(text)") }
            return n
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let hit = table.first(where: { $0.0 == name }) { return hit.1 }
        let rtmin = Int32(34), rtmax = Int32(64)
        if name == "RTMIN" { return rtmin }
        if name == "RTMAX" { return rtmax }
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), rtmin + k <= rtmax { return rtmin + k }
        if name.hasPrefix("RTMAX-"), let k = Int32(name.dropFirst(6)), rtmax - k >= rtmin { return rtmax - k }
        throw RuntimeError("unknown signal \(text.debugDescription)")
    }
}
