import CBerth
import Glibc
import OCI

extension Runtime {
    /// run(1): create + start. In the foreground it forwards signals to the
    /// container, relays its terminal, waits, removes it (unless `keep`) and
    /// returns its exit status.
    public func run(id: String, _ opts: CreateOptions, detach: Bool, keep: Bool) throws(RuntimeError) -> Int32 {
        if detach {
            try create(id: id, opts)
            do { try start(id: id) } catch {
                try? delete(id: id, force: true)
                throw error
            }
            return 0
        }
        // Orphans of a container sharing our pid namespace come back to us to be reaped.
        _ = cb_set_child_subreaper()
        let created = try create(id: id, opts, ownConsole: opts.consoleSocket == nil)
        let signals = cb_signal_forwarding_pipe(1)
        do { try start(id: id) } catch {
            try? delete(id: id, force: true)
            throw error
        }
        let code = Foreground.wait(pid: created.state.pid, master: created.consoleMaster, signalFD: signals)
        if !keep {
            do { try delete(id: id, force: true) } catch { log.warning(error.message) }
        }
        return code
    }
}

/// The foreground loop of `run` and `exec`: forwards every signal we get to
/// the process, relays its terminal, reaps children, and returns its status.
enum Foreground {
    static func wait(pid: pid_t, master: Int32?, signalFD: Int32) -> Int32 {
        let relay = master.map { TerminalRelay(master: $0) }
        defer { relay?.restore() }
        var stdinOpen = master != nil
        var masterOpen = master != nil
        var buf = [UInt8](repeating: 0, count: 32768)
        var exitCode: Int32?
        // The process may have exited before our SIGCHLD handler was installed:
        // look before the first poll, not only after a signal.
        exitCode = reap(pid)
        while exitCode == nil || masterOpen {
            var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: masterOpen ? master! : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen && exitCode == nil ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            // Once the process is gone only drain what the terminal still holds.
            let n = poll(&fds, 3, exitCode == nil ? 1000 : 100)
            if n < 0 && errno != EINTR { break }
            if n == 0 && exitCode != nil { break }
            if fds[0].revents != 0 {
                var sigs = [UInt8](repeating: 0, count: 64)
                let got = sigs.withUnsafeMutableBytes { read(signalFD, $0.baseAddress, $0.count) }
                for k in 0..<max(0, got) {
                    let sig = Int32(sigs[k])
                    if sig == SIGCHLD { continue }
                    if sig == SIGWINCH, let master {
                        var rows: UInt16 = 0, cols: UInt16 = 0
                        if cb_ioctl_get_winsize(0, &rows, &cols) == 0 { _ = cb_ioctl_set_winsize(master, rows, cols) }
                        continue
                    }
                    Glibc.kill(pid, sig)
                }
            }
            if exitCode == nil { exitCode = reap(pid) }
            if masterOpen, fds[1].revents != 0 {
                let r = buf.withUnsafeMutableBytes { read(master!, $0.baseAddress, $0.count) }
                if r <= 0 { masterOpen = false } else { try? FS.writeAll(1, Array(buf[0..<r]), what: "stdout") }
            }
            if stdinOpen, fds[2].revents != 0 {
                let r = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if r <= 0 { stdinOpen = false } else { try? FS.writeAll(master!, Array(buf[0..<r]), what: "terminal") }
            }
        }
        return exitCode ?? reapBlocking(pid)
    }

    /// Reaps every exited child (we are a subreaper); returns the status of `pid` if it exited.
    static func reap(_ pid: pid_t) -> Int32? {
        var result: Int32?
        while true {
            var st: Int32 = 0
            let r = waitpid(-1, &st, WNOHANG)
            if r <= 0 { break }
            if r == pid { result = Exec.exitCode(st) }
        }
        return result
    }

    static func reapBlocking(_ pid: pid_t) -> Int32 {
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 { if errno != EINTR { return 255 } }
        return Exec.exitCode(st)
    }
}
