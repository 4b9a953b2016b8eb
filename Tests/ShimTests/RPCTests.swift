// The JSON-RPC layer on its own: framing, messages, errors and the protocol's types.

import OCI
import RPC
import Testing

@Suite("RPC")
struct RPCTests {
    @Test func framerSplitsLinesAcrossReads() throws {
        var f = LineFramer()
        f.append(Array("{\"a\":1}\n{\"b\"".utf8))
        #expect(try f.next() == Array("{\"a\":1}".utf8))
        #expect(try f.next() == nil)
        f.append(Array(":2}\r\n\n".utf8))
        #expect(try f.next() == Array("{\"b\":2}".utf8))
        #expect(try f.next() == nil)
        #expect(f.pendingBytes == 0)
    }

    @Test func framerRefusesOverlongLines() {
        var f = LineFramer(maxLine: 16)
        f.append([UInt8](repeating: 0x41, count: 17))
        #expect(throws: RPCError.self) { try f.next() }
    }

    @Test func messagesRoundTrip() throws {
        let msgs: [RPCMessage] = [
            .request(id: .number(7), method: "kill", params: KillParams(signal: 9, all: true).json),
            .request(id: .string("x"), method: "state", params: nil),
            .notification(method: "exit", params: ExitInfo(id: "c", pid: 3, exitStatus: 137, exitedAt: "2026-01-01T00:00:00Z").json),
            .result(id: .number(1), result: ["pid": 42]),
            .error(id: nil, error: RPCError(RPCError.parseError, "parse error")),
            .error(id: .number(2), error: RPCError(RPCError.unsupportedVersion, "no", data: ["supported": [1]])),
        ]
        for m in msgs {
            let frame = m.frame
            #expect(frame.last == 0x0A)
            #expect(!frame.dropLast().contains(0x0A), "a frame is one line")
            #expect(try RPCMessage.parse(Array(frame.dropLast())) == m)
        }
    }

    @Test func frameOfTextWithNewlinesIsOneLine() {
        let m = RPCMessage.result(id: .number(1), result: ["log": "a\nb\n"])
        #expect(m.frame.filter { $0 == 0x0A }.count == 1)
    }

    @Test func invalidMessages() {
        func code(_ text: String) -> Int? {
            do { _ = try RPCMessage.parse(Array(text.utf8)); return nil } catch { return error.code }
        }
        #expect(code("{not json") == RPCError.parseError)
        #expect(code("[1,2]") == RPCError.invalidRequest)
        #expect(code("{\"id\":1,\"method\":\"state\"}") == RPCError.invalidRequest)        // no "jsonrpc"
        #expect(code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":3}") == RPCError.invalidRequest)
        #expect(code("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}") == RPCError.invalidRequest)
        #expect(code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":5}") == RPCError.invalidRequest)
        #expect(code("{\"jsonrpc\":\"2.0\",\"id\":1}") == RPCError.invalidRequest)
    }

    @Test func paramsDefaultsAndErrors() throws {
        let k = try KillParams.decode(nil)
        #expect(k.signal == 15 && !k.all)
        let c = try CreateParams.decode(["stdio": "log", "logMaxSize": 1024, "logMaxFiles": 3])
        #expect(c == CreateParams(stdio: .log, logPath: nil, logMaxSize: 1024, logMaxFiles: 3))
        #expect(try CreateParams.decode(c.json) == c)
        #expect(try CreateParams.decode(nil).stdio == .none)
        do {
            _ = try CreateParams.decode(["stdio": "tty"])
            Issue.record("stdio tty should be refused")
        } catch {
            #expect(error.code == RPCError.invalidParams)
        }
        let s = StateResult(status: "stopped", id: "c", bundle: "/b", pid: 9, exitStatus: 0, exitedAt: "t")
        #expect(try StateResult.decode(s.json) == s)
        let e = ExitInfo(id: "c", pid: 1, exitStatus: 137, exitedAt: "t", reason: "killed")
        #expect(try ExitInfo.decode(e.json) == e)
    }

    @Test func methodTable() {
        let done = ShimMethod.allCases.filter(\.implemented).map(\.rawValue)
        #expect(Set(done) == ["hello", "create", "start", "state", "pids", "kill", "wait", "delete", "shutdown",
                              "exec", "pause", "resume", "update", "stats", "resizePty", "connect", "closeStdin", "attach"])
        #expect(ShimMethod.allCases.count == 18)
    }
}
