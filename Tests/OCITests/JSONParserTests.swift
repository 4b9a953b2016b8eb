import Testing
@testable import OCI

@Suite struct JSONParserTests {
    @Test func parsesNestedDocument() throws {
        let v = try JSONParser.parse(#"{"a": [1, -2.5e3, true, null, "x\"y\u00e9\ud83d\ude00"], "b": {}}"#)
        #expect(v["a"] == [.number("1"), .number("-2.5e3"), true, nil, .string("x\"yé😀")])
        #expect(v["b"] == .object([]))
    }

    @Test func keepsLargeIntegersExact() throws {
        let v = try JSONParser.parse(#"{"limit": 18446744073709551615, "neg": -9223372036854775808}"#)
        struct T: Decodable { var limit: UInt64; var neg: Int64 }
        let t = try JSONValueDecoder().decode(T.self, from: v)
        #expect(t.limit == UInt64.max)
        #expect(t.neg == Int64.min)
    }

    @Test(arguments: ["{]", "[1,]", "{\"a\":1,}", "01", "\"\\x\"", "[1 2]", "", "{\"a\" 1}", "tru", "\"\u{01}\"", "1 2"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test func errorNamesLineAndColumn() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": ]\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("line 2, column 8"))
        }
    }

    @Test func writerRoundTrips() throws {
        // Strings with and without escapes (the writer skips the escaping scan for the latter).
        let text = #"{"a":[1,"two",{"three":null}],"b":"tab\tquote\"nl\n\u0001","c":"café\\path","d":"plain ✓"}"#
        let v = try JSONParser.parse(text)
        #expect(JSONWriter.write(v) == text)
        #expect(try JSONParser.parse(JSONWriter.write(v, indent: true)) == v)
    }
}

@Suite struct SpecDecodingTests {
    func decode(_ text: String) throws -> Spec { try JSONValueDecoder().decode(Spec.self, from: try JSONParser.parse(text)) }

    @Test func decodesProcessAndLinux() throws {
        let s = try decode("""
        {"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
         "process": {"user": {"uid": 1, "gid": 2, "additionalGids": [3]}, "args": ["sh"], "cwd": "/",
                     "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}]},
         "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}],
                   "resources": {"memory": {"limit": 4194304}, "pids": {"limit": 10}},
                   "unknownField": {"is": "ignored"}}}
        """)
        #expect(s.root?.readonly == true)
        #expect(s.process?.user.additionalGids == [3])
        #expect(s.process?.rlimits?.first?.soft == 512)
        #expect(s.linux?.namespaces?[1].path == "/var/run/netns/x")
        #expect(s.linux?.resources?.memory?.limit == 4_194_304)
    }

    @Test func typeErrorsNameTheFieldPath() {
        do {
            _ = try decode(#"{"ociVersion": "1.0.0", "linux": {"resources": {"rdma": {"mlx5_1": {"hcaHandles": "many"}}}}}"#)
            Issue.record("expected an error")
        } catch let e as JSONError {
            #expect(e.message.contains("linux.resources.rdma.mlx5_1.hcaHandles"))
            #expect(e.message.contains("expected a non-negative integer"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func missingRequiredField() {
        do {
            _ = try decode(#"{"ociVersion": "1.0.0", "process": {"args": ["sh"], "cwd": "/"}}"#)
            Issue.record("expected an error")
        } catch let e as JSONError {
            #expect(e.message == "process.user: required field is missing")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func negativeValueForUnsignedField() {
        #expect(throws: JSONError.self) {
            _ = try decode(#"{"ociVersion": "1.0.0", "process": {"user": {"uid": -1, "gid": 0}, "cwd": "/"}}"#)
        }
    }
}
