import Glibc

/// Signals turned into bytes on a pipe (the self-pipe trick), so the stream
/// loop polls them with the socket and stdin. While the channel is open the
/// signals are caught (a handler writes the number to the pipe, which is
/// async-signal-safe); closing it puts the previous dispositions back.
final class SignalChannel {
    let fd: Int32
    private let signals: [Int32]
    private var previous: [sigaction] = []
    private var oldMask = sigset_t()

    /// The pipe's write end, for the handler (one channel at a time).
    nonisolated(unsafe) private static var writeFD: Int32 = -1

    init(_ signals: [Int32]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CLIError("pipe: \(String(cString: strerror(errno)))", status: 1) }
        for f in fds {
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK)
        }
        fd = fds[0]
        SignalChannel.writeFD = fds[1]
        self.signals = signals
        // A parent may have left them blocked (the mask survives exec): unblock them while the channel is open.
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, &oldMask)
        for s in signals {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = { sig in
                var b = UInt8(truncatingIfNeeded: sig)
                let saved = errno
                _ = Glibc.write(SignalChannel.writeFD, &b, 1)
                errno = saved
            }
            sa.sa_flags = Int32(SA_RESTART)
            sigemptyset(&sa.sa_mask)
            var old = sigaction()
            sigaction(s, &sa, &old)
            previous.append(old)
        }
    }

    /// The signals received since the last call.
    func read() -> [Int32] {
        var out: [Int32] = []
        var buf = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n].map { Int32($0) }
        }
        return out
    }

    func close() {
        for (s, old) in zip(signals, previous) {
            var o = old
            sigaction(s, &o, nil)
        }
        pthread_sigmask(SIG_SETMASK, &oldMask, nil)
        Glibc.close(fd)
        Glibc.close(SignalChannel.writeFD)
        SignalChannel.writeFD = -1
    }

    /// Dies of `sig` as if it had not been caught (after the caller restored the terminal).
    static func dieOf(_ sig: Int32) -> Never {
        signal(sig, SIG_DFL)
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, sig)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        raise(sig)
        exit(128 + sig)
    }

    /// "SIGTERM" for 15, as berthd's kill takes it.
    static func name(_ sig: Int32) -> String {
        let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
                                      SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
                                      SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
                                      SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP", SIGTTIN: "SIGTTIN",
                                      SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM",
                                      SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO", SIGPWR: "SIGPWR", SIGSYS: "SIGSYS"]
        return names[sig] ?? String(sig)
    }
}
