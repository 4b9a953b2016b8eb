import CBerth
import Glibc
import RPC

/// The stdio of a process the runtime starts (the init, or an exec):
/// prepared before the runtime runs, handed to the poll loop after.
///   - stdio none, no terminal: /dev/null for all three.
///   - stdio log: stdout and stderr are pipes read into a LogWriter.
///   - stdin: a pipe whose write end the shim keeps (attach, closeStdin).
///   - terminal: --console-socket; the pty master the runtime sends is read
///     as "stdout" (into the log, or dropped with stdio none) and written by
///     attach's stdin.
struct StdioSetup {
    var out: (r: Int32, w: Int32) = (-1, -1)
    var err: (r: Int32, w: Int32) = (-1, -1)
    var input: (r: Int32, w: Int32) = (-1, -1)
    var writer: LogWriter?
    var console: ConsoleSocket?
    let terminal: Bool

    init(log: (path: String, maxSize: Int64, maxFiles: Int)?, stdin: Bool, terminal: Bool, consolePath: String) throws(RPCError) {
        self.terminal = terminal
        do throws(RPCError) {
            if let log {
                writer = try LogWriter(path: log.path, maxSize: log.maxSize, maxFiles: log.maxFiles)
                if !terminal {
                    out = try Sys.pipe()
                    err = try Sys.pipe()
                }
            }
            if terminal {
                console = try ConsoleSocket(path: consolePath)
            } else if stdin {
                input = try Sys.pipe()
            }
        } catch {
            abort()
            throw error
        }
    }

    /// Runtime arguments (before the id).
    var runtimeArgs: [String] { console.map { ["--console-socket", $0.path] } ?? [] }

    /// The runtime has run: close the child's ends; on success collect the
    /// terminal and return what the loop keeps.
    mutating func finish(owner: String?) throws(RPCError) -> (streams: [ShimServer.Stream], pty: Int32, stdin: Int32) {
        closeChildEnds()
        var master: Int32 = -1
        if let console {
            do { master = try console.receive() } catch { console.close(); self.console = nil; abort(); throw error }
            console.close()
            self.console = nil
        }
        var streams: [ShimServer.Stream] = []
        var pty: Int32 = -1
        var stdin: Int32 = -1
        if master >= 0 {
            pty = cb_dupfd_cloexec(master, 3)
            stdin = cb_dupfd_cloexec(master, 3)
            Sys.setNonblocking(master)
            Sys.setNonblocking(stdin)
            let w: LogWriter
            if let writer { w = writer } else { w = try LogWriter(path: "/dev/null", maxSize: 0, maxFiles: 1) }
            streams.append(ShimServer.Stream(fd: master, name: "stdout", log: w, owner: owner))
        } else if let writer {
            Sys.setNonblocking(out.r)
            Sys.setNonblocking(err.r)
            streams = [ShimServer.Stream(fd: out.r, name: "stdout", log: writer, owner: owner),
                       ShimServer.Stream(fd: err.r, name: "stderr", log: writer, owner: owner)]
        }
        if input.w >= 0 { stdin = input.w; Sys.setNonblocking(stdin) }
        return (streams, pty, stdin)
    }

    /// The runtime failed: close everything.
    mutating func abort() {
        closeChildEnds()
        for fd in [out.r, err.r, input.w] where fd >= 0 { close(fd) }
        out.r = -1; err.r = -1; input.w = -1
        console?.close()
        console = nil
    }

    private mutating func closeChildEnds() {
        for fd in [out.w, err.w, input.r] where fd >= 0 { close(fd) }
        out.w = -1; err.w = -1; input.r = -1
    }
}

enum Stdio {
    /// Types the terminal's end-of-file character (c_cc[VEOF], Ctrl-D unless
    /// the program changed it) into the pty master `fd`.
    static func typeEOF(_ fd: Int32) throws(RPCError) {
        var t = termios()
        var eof: UInt8 = 4
        if tcgetattr(fd, &t) == 0 {
            eof = withUnsafeBytes(of: &t.c_cc) { $0[Int(VEOF)] }
            if eof == 0 { eof = 4 }
        }
        var b = eof
        var n = -1
        repeat { n = write(fd, &b, 1) } while n < 0 && errno == EINTR
        if n != 1 { throw Sys.fail("write EOF to the terminal") }
    }
}
