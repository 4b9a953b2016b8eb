import Glibc

/// The local terminal in raw mode for `-it`, restored on every way out:
/// normal return, `exit`, the signals berth handles itself, and crashes
/// (a handler restores it and re-raises).
enum RawTerminal {
    nonisolated(unsafe) private static var saved = termios()
    nonisolated(unsafe) private static var savedFD: Int32 = -1

    /// Puts `fd` in raw mode (as Go's term.MakeRaw: no echo, no line
    /// editing, no signals from keys, 8-bit bytes); false when it is not a terminal.
    @discardableResult
    static func enable(_ fd: Int32 = STDIN_FILENO) -> Bool {
        guard isatty(fd) == 1, savedFD < 0 else { return false }
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return false }
        saved = t
        savedFD = fd
        t.c_iflag &= ~tcflag_t(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON)
        t.c_oflag &= ~tcflag_t(OPOST)
        t.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        t.c_cflag &= ~tcflag_t(CSIZE | PARENB)
        t.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        installCrashHandlers()
        atexit { RawTerminal.restore() }
        return tcsetattr(fd, TCSANOW, &t) == 0
    }

    /// Back to the saved mode (async-signal-safe: one tcsetattr).
    static func restore() {
        guard savedFD >= 0 else { return }
        _ = tcsetattr(savedFD, TCSANOW, &saved)
        savedFD = -1
    }

    static var isRaw: Bool { savedFD >= 0 }

    private static func installCrashHandlers() {
        for s in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = { sig in
                RawTerminal.restore()
                signal(sig, SIG_DFL)
                raise(sig)
            }
            sa.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)
            sigemptyset(&sa.sa_mask)
            sigaction(s, &sa, nil)
        }
    }

    /// The terminal's size (columns, rows) from stdout, else stdin; nil without a terminal.
    static func size() -> (width: Int, height: Int)? {
        var ws = winsize()
        for fd in [STDOUT_FILENO, STDIN_FILENO] where ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 0 {
            return (Int(ws.ws_col), Int(ws.ws_row))
        }
        return nil
    }
}
