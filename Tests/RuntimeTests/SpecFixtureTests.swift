// Runs every spec fixture in spec-fixtures/ against the runtime under test.
// Format and how to run: docs/spec-fixtures.md.
//
//   BERTH_RUNTIME=/usr/sbin/runc swift test --filter SpecFixture
//
// For each fixture directory: copy the busybox rootfs into a fresh bundle, build
// config.json (base-config.json + config.patch.json as an RFC 7386 merge patch, or the
// fixture's own config.json), run the fixture's host setup commands, then
//   <runtime> --root <tmp>/state run --bundle <tmp>/bundle <id>
// in the foreground with stdin=/dev/null and stdout/stderr captured, and compare with
// expect.json. Afterwards the runtime must have left nothing behind: no <root>/<id>, no
// cgroup directory named <id>, no new mount under the fixture's scratch directory.
// Cleanup (`delete -f`, teardown commands, unmount, rm) runs even when a check fails.

import Foundation
import Glibc
import Testing

enum SpecFixtures {
    static let excludedDirs: Set<String> = ["schema-examples"]

    /// Fixture directory names (sorted), discovered when the tests are listed.
    static let names: [String] = {
        let dir = TestEnv.fixturesDir
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            return ["<spec-fixtures directory not found at \(dir)>"]
        }
        let found = entries.filter {
            !excludedDirs.contains($0) && fileExists(dir + "/" + $0 + "/expect.json")
        }.sorted()
        return found.isEmpty ? ["<no fixtures found in \(dir)>"] : found
    }()

    /// "good/NAME.json" and "bad/NAME.json" from spec-fixtures/schema-examples.
    static let schemaExamples: [String] = {
        let dir = TestEnv.fixturesDir + "/schema-examples"
        var result: [String] = []
        for kind in ["good", "bad"] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + kind)) ?? []
            result += files.filter { $0.hasSuffix(".json") }.sorted().map { "\(kind)/\($0)" }
        }
        return result.isEmpty ? ["<no schema examples found in \(dir)>"] : result
    }()

    static let allowedExpectKeys: Set<String> = [
        "description", "exitCode", "stdout", "stdoutContains", "stderrContains",
        "createFails", "errorContains", "files", "setup", "teardown", "requires",
        "runcKnownFailure", "timeout",
    ]
    static let allowedFileKeys: Set<String> = ["exists", "contains", "inOrder", "json"]

    /// Words that mark an error as a JSON parse / schema error (see docs/spec-fixtures.md).
    /// A "good" schema example must never fail `create` with one of these.
    static let schemaErrorMarkers = [
        "invalid character", "unmarshal", "json:", "schema", "invalid json", "malformed",
        "unexpected end of", "cannot parse", "parse error", "decod",
    ]
}

/// Host prerequisites: "cap:CAP_X" needs that capability in this (the runtime's) effective
/// set, an entry starting with "/" is a path that must exist, anything else is a command
/// that must be on $PATH. Returns the unmet ones.
func unmetRequirements(_ reqs: [String]) -> [String] {
    let pathDirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        .split(separator: ":").map(String.init)
    return reqs.filter { req in
        if req.hasPrefix("cap:") { return !hasEffectiveCapability(String(req.dropFirst(4))) }
        if req.hasPrefix("/") { return !fileExists(req) }
        return !pathDirs.contains { access($0 + "/" + req, X_OK) == 0 }
    }
}

let capabilityNames = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]

func hasEffectiveCapability(_ name: String) -> Bool {
    guard let bit = capabilityNames.firstIndex(of: name),
          let status = readFile("/proc/self/status"),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    else { return false }
    return mask & (UInt64(1) << UInt64(bit)) != 0
}

@Suite("Spec fixtures")
struct SpecFixtureTests {

    @Test("spec fixture", arguments: SpecFixtures.names)
    func fixture(_ name: String) throws {
        try TestEnv.requireRuntime()
        let fixtureDir = TestEnv.fixturesDir + "/" + name
        guard let expectText = readFile(fixtureDir + "/expect.json") else {
            Issue.record("fixture \(name): cannot read \(fixtureDir)/expect.json")
            return
        }
        guard let expect = parseJSON(expectText) as? [String: Any] else {
            Issue.record("fixture \(name): expect.json is not a JSON object")
            return
        }
        let unknown = Set(expect.keys).subtracting(SpecFixtures.allowedExpectKeys)
        #expect(unknown.isEmpty, "fixture \(name): unknown keys in expect.json: \(unknown.sorted())")

        let requires = expect["requires"] as? [String] ?? []
        let unmet = unmetRequirements(requires)
        if !unmet.isEmpty {
            let reason = "SKIPPED spec fixture \(name): host lacks \(unmet.joined(separator: ", "))"
            print("⚠︎ \(reason)")
            try Test.cancel(Comment(rawValue: reason))
        }

        let tmp = try makeScratchDir("fx-\(name)")
        let bundle = tmp + "/bundle"
        let root = tmp + "/state"
        let id = uniqueID(name)
        let subst: (String) -> String = { s in
            s.replacingOccurrences(of: "@TMP@", with: tmp)
                .replacingOccurrences(of: "@BUNDLE@", with: bundle)
                .replacingOccurrences(of: "@ROOTFS@", with: bundle + "/rootfs")
                .replacingOccurrences(of: "@ID@", with: id)
        }
        let teardown = (expect["teardown"] as? [String] ?? []).map(subst)
        defer {
            rt(["--root", root, "delete", "--force", id], timeout: 60)
            for cmd in teardown { sh(cmd) }
            let stuck = removeTree(tmp)
            if !stuck.isEmpty { print("fixture \(name): had to unmount \(stuck)") }
        }

        // Bundle.
        mkdir(bundle, 0o755)
        try Rootfs.copy(to: bundle + "/rootfs")
        if let full = readFile(fixtureDir + "/config.json") {
            try writeFile(bundle + "/config.json", subst(full))
        } else {
            guard let baseText = readFile(TestEnv.fixturesDir + "/base-config.json"),
                  let base = parseJSON(baseText) else {
                Issue.record("spec-fixtures/base-config.json is missing or not JSON")
                return
            }
            guard let patchText = readFile(fixtureDir + "/config.patch.json") else {
                Issue.record("fixture \(name): needs config.patch.json or config.json")
                return
            }
            guard let patch = parseJSON(subst(patchText)) else {
                Issue.record("fixture \(name): config.patch.json is not valid JSON")
                return
            }
            try writeFile(bundle + "/config.json", try jsonString(mergePatch(base, patch)))
        }

        for cmd in (expect["setup"] as? [String] ?? []).map(subst) {
            let r = sh(cmd)
            guard r.status == 0 else {
                Issue.record("fixture \(name): setup command failed:\n\(r)")
                return
            }
        }

        let mountsBefore = Set(mountsUnder(tmp))
        let timeout = jsonNumber(expect["timeout"]) ?? 60
        let result = rt(["--root", root, "run", "--bundle", bundle, id], timeout: timeout)

        let check = {
            try Self.checkResult(name: name, expect: expect, result: result, subst: subst)
            Leftovers.check(root: root, id: id)
            let newMounts = Set(mountsUnder(tmp)).subtracting(mountsBefore)
            #expect(newMounts.isEmpty, "fixture \(name): mounts left behind on the host: \(newMounts.sorted())")
        }
        if TestEnv.isRunc, let reason = expect["runcKnownFailure"] as? String {
            print("fixture \(name): known runc failure (\(reason)); result was:\n\(result)")
            withKnownIssue(Comment(rawValue: "runc 1.1.5: \(reason)")) { try check() }
        } else {
            try check()
        }
    }

    static func checkResult(name: String, expect: [String: Any], result: CommandResult,
                            subst: (String) -> String) throws {
        let ctx = "fixture \(name):\n\(result)"
        #expect(!result.timedOut, "\(ctx)")
        if expect["createFails"] as? Bool == true {
            #expect(result.status != 0, "expected the runtime to fail; \(ctx)")
            #expect(!errorLines(result.stderr).isEmpty, "expected an error message on stderr; \(ctx)")
            if let needle = expect["errorContains"] as? String {
                #expect(result.stderr.contains(subst(needle)), "stderr should contain \"\(subst(needle))\"; \(ctx)")
            }
        } else {
            let code = Int(jsonNumber(expect["exitCode"]) ?? 0)
            #expect(result.status == Int32(code), "expected exit code \(code); \(ctx)")
        }
        if let exact = expect["stdout"] as? String {
            #expect(result.stdout == subst(exact), "stdout should be exactly \(subst(exact).debugDescription); \(ctx)")
        }
        for needle in (expect["stdoutContains"] as? [String] ?? []).map(subst) {
            #expect(result.stdout.contains(needle), "stdout should contain \(needle.debugDescription); \(ctx)")
        }
        for needle in (expect["stderrContains"] as? [String] ?? []).map(subst) {
            #expect(result.stderr.contains(needle), "stderr should contain \(needle.debugDescription); \(ctx)")
        }
        for (rawPath, specAny) in expect["files"] as? [String: Any] ?? [:] {
            let path = subst(rawPath)
            guard let spec = specAny as? [String: Any] else {
                Issue.record("fixture \(name): files[\(rawPath)] must be an object")
                continue
            }
            let unknown = Set(spec.keys).subtracting(SpecFixtures.allowedFileKeys)
            #expect(unknown.isEmpty, "fixture \(name): unknown keys in files[\(rawPath)]: \(unknown.sorted())")
            let content = readFile(path)
            let mustExist = spec["exists"] as? Bool ?? true
            if !mustExist {
                #expect(content == nil && !fileExists(path), "fixture \(name): \(path) should not exist; \(ctx)")
                continue
            }
            guard let content else {
                Issue.record("fixture \(name): expected file \(path) to exist; \(ctx)")
                continue
            }
            let fctx = "fixture \(name): file \(path) is:\n\(content)"
            for needle in (spec["contains"] as? [String] ?? []).map(subst) {
                #expect(content.contains(needle), "should contain \(needle.debugDescription); \(fctx)")
            }
            if let ordered = spec["inOrder"] as? [String] {
                let lines = content.split(separator: "\n").map(String.init)
                var idx = 0
                for line in lines where idx < ordered.count && line == subst(ordered[idx]) { idx += 1 }
                #expect(idx == ordered.count, "lines \(ordered) should appear in this order; \(fctx)")
            }
            if let expectedJSON = spec["json"] {
                let substituted = parseJSON(subst(try jsonString(expectedJSON))) ?? expectedJSON
                let actual = parseJSON(content)
                #expect(actual != nil, "should be JSON; \(fctx)")
                let mismatches = jsonSubsetMismatches(expected: substituted, actual: actual)
                #expect(mismatches.isEmpty, "JSON mismatch \(mismatches); \(fctx)")
            }
        }
    }

    // MARK: Schema examples (copied from the runtime-spec repository)

    @Test("runtime-spec schema example", arguments: SpecFixtures.schemaExamples)
    func schemaExample(_ example: String) throws {
        try TestEnv.requireRuntime()
        let dir = TestEnv.fixturesDir + "/schema-examples"
        guard let configText = readFile(dir + "/" + example) else {
            Issue.record("cannot read schema example \(example)")
            return
        }
        let good = example.hasPrefix("good/")
        let knownFailures = (parseJSON(readFile(dir + "/known-failures.json") ?? "{}") as? [String: String]) ?? [:]

        let tmp = try makeScratchDir("schema-\(example)")
        let bundle = tmp + "/bundle"
        let root = tmp + "/state"
        let id = uniqueID("schema")
        defer {
            rt(["--root", root, "delete", "--force", id], timeout: 60)
            let stuck = removeTree(tmp)
            if !stuck.isEmpty { print("schema example \(example): had to unmount \(stuck)") }
        }
        mkdir(bundle, 0o755)
        try Rootfs.copy(to: bundle + "/rootfs")
        try writeFile(bundle + "/config.json", configText)

        let check = {
            // berth's hidden `validate` command checks config.json against the schema.
            // runc has no such command, so this part only runs for berth.
            if !TestEnv.isRunc {
                let v = rt(["validate", "--bundle", bundle])
                if good {
                    #expect(v.status == 0, "`validate` should accept good/\(example); \(v)")
                } else {
                    #expect(v.status != 0, "`validate` should reject \(example); \(v)")
                    #expect(!errorLines(v.stderr).isEmpty, "`validate` should say why it rejects \(example); \(v)")
                }
            }

            let mountsBefore = Set(mountsUnder(tmp))
            let r = rt(["--root", root, "create", "--bundle", bundle, id], timeout: 60)
            #expect(!r.timedOut, "\(r)")
            if good {
                if r.status == 0 {
                    // Created: it must be a real container in the "created" state.
                    let s = rt(["--root", root, "state", id])
                    let state = parseJSON(s.stdout) as? [String: Any]
                    #expect(state?["status"] as? String == "created", "state after create: \(s)")
                    let d = rt(["--root", root, "delete", "--force", id])
                    #expect(d.status == 0, "\(d)")
                } else {
                    // Failing is fine (the example may need things this host or runtime lacks),
                    // but never because the config was considered invalid JSON/schema.
                    // berth names the file in its messages ("config.json: …"); that is not a JSON error.
                    let lower = r.stderr.lowercased().replacingOccurrences(of: "config.json", with: "config")
                    let hits = SpecFixtures.schemaErrorMarkers.filter { lower.contains($0) }
                    #expect(hits.isEmpty, "good example \(example) was rejected as invalid (\(hits)): \(r)")
                    #expect(!errorLines(r.stderr).isEmpty, "a failing create must say why: \(r)")
                }
            } else {
                #expect(r.status != 0, "bad example \(example) must be rejected by create: \(r)")
                #expect(!errorLines(r.stderr).isEmpty, "a failing create must say why: \(r)")
            }
            Leftovers.check(root: root, id: id)
            let newMounts = Set(mountsUnder(tmp)).subtracting(mountsBefore)
            #expect(newMounts.isEmpty, "schema example \(example): mounts left behind on the host: \(newMounts.sorted())")
        }
        if TestEnv.isRunc, let reason = knownFailures[example] {
            withKnownIssue(Comment(rawValue: "runc 1.1.5: \(reason)")) { check() }
        } else {
            check()
        }
    }
}
