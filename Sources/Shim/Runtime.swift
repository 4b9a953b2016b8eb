import CBerth
import Glibc
import OCI
import RPC

/// Runs berth-runtime (or any runc-compatible runtime) commands, one at a
/// time and to completion. Errors come from the runtime's --log (JSON lines):
/// the last "error" line's msg.
struct RuntimeRunner {
    let path: String
    let root: String?
    let logPath: String

    func argv(_ args: [String]) -> [String] {
        var a = [path]
        if let root { a += ["--root", root] }
        return a + ["--log", logPath, "--log-format", "json"] + args
    }

    /// Runs `args`; with `captureStdout` its stdout is returned, otherwise
    /// stdout/stderr are fd1/fd2 (-1 = /dev/null). A non-zero exit throws runtimeFailed.
    @discardableResult
    func run(_ args: [String], captureStdout: Bool = false, fd0: Int32 = -1, fd1: Int32 = -1, fd2: Int32 = -1) throws(RPCError) -> [UInt8] {
        unlink(logPath)
        var out: [UInt8] = []
        let pid: pid_t
        if captureStdout {
            let p = try Sys.pipe()
            do { pid = try Sys.spawn(argv(args), fd1: p.w, fd2: fd2) } catch { close(p.r); close(p.w); throw error }
            close(p.w)
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buf.withUnsafeMutableBytes { read(p.r, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; break }
                if n == 0 { break }
                out.append(contentsOf: buf[0..<n])
            }
            close(p.r)
        } else {
            pid = try Sys.spawn(argv(args), fd0: fd0, fd1: fd1, fd2: fd2)
        }
        var status: Int32 = 0
        if cb_wait_status(pid, 0, &status) < 0 { throw Sys.fail("waitpid \(path)") }
        if status != 0 {
            let msg = lastError() ?? "runtime \(args.first ?? "") exited with status \(status)"
            throw RPCError(RPCError.runtimeFailed, msg, data: ["runtimeExitStatus": .int(status)])
        }
        return out
    }

    func lastError() -> String? {
        guard let text = Sys.readText(logPath) else { return nil }
        var msg: String?
        for line in text.split(separator: "\n") {
            guard let v = try? JSONParser.parse(String(line)) else { continue }
            if v["level"]?.stringValue == "error" || v["level"]?.stringValue == "fatal" { msg = v["msg"]?.stringValue }
        }
        return msg
    }
}
