// berth-runtime's cgroup v2 driver, checked on a pure cgroup v2 kernel.
//
// The build and test machines are cgroup v1 (hybrid), so the check runs in a
// throw-away qemu VM booted by <package root>/../shared/vm/run-in-vm.sh (Debian's
// kernel, cgroup2 only, every controller enabled at the root). The VM gets the
// static release binary, tests/vm/cgroup-v2-check.sh and a static memhog, runs
// the script, and this test parses its TAP output: one expectation per check.
// docs/cgroup-v2.md says how to run it by hand and what it costs (~15 s).
//
// Needs: the fully static binary ($BERTH_RUNTIME_STATIC, else
// <root>/.build/release/berth-runtime from
//   swift build -c release -Xswiftc -static-executable --product berth-runtime);
// a missing or dynamic binary is a failure, never a skip.
// Skipped (with the reason printed) when ../shared/vm is absent (a plain clone) or
// when qemu or a kernel is missing and tests/vm/install-host-deps.sh cannot
// install them (not root, no package archive).
//
// Only Foundation, Glibc and Swift Testing: nothing from the Berth package.
// LSMVMTests.swift (AppArmor, SELinux) shares the helpers below.

import Foundation
import Glibc
import Testing

// MARK: - Where things are

enum VM {
    /// <package root>, from this file's path: <root>/Tests/CgroupV2Tests/CgroupV2VMTests.swift.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// <root>/../shared/vm; $BERTH_SHARED_VM overrides it (e.g. to see the skip).
    static let sharedVMDir: String = {
        if let p = ProcessInfo.processInfo.environment["BERTH_SHARED_VM"], !p.isEmpty { return p }
        return URL(fileURLWithPath: packageRoot + "/../shared/vm").standardizedFileURL.path
    }()
    static var runInVM: String { sharedVMDir + "/run-in-vm.sh" }
    static var memhogSource: String { sharedVMDir + "/examples/memhog.c" }
    static var checkScript: String { packageRoot + "/tests/vm/cgroup-v2-check.sh" }
    static var libScript: String { packageRoot + "/tests/vm/lib.sh" }
    static var installScript: String { packageRoot + "/tests/vm/install-host-deps.sh" }

    static let runtimePath: String = {
        if let p = ProcessInfo.processInfo.environment["BERTH_RUNTIME_STATIC"], !p.isEmpty { return p }
        return packageRoot + "/.build/release/berth-runtime"
    }()

    static let buildHint = "build it with: cd \(packageRoot) && swift build -c release -Xswiftc -static-executable --product berth-runtime"
        + " (or point BERTH_RUNTIME_STATIC at a static berth-runtime)"

    /// The VM time limit given to run-in-vm.sh (-t); the test waits a little longer.
    static let vmTimeLimit = 300

    static func skip(_ reason: String, _ what: String = "the cgroup v2 VM check") -> Bool {
        FileHandle.standardError.write(Data("CgroupV2Tests: skipping \(what): \(reason)\n".utf8))
        return false
    }

    /// ../shared/vm with its run-in-vm.sh is there (it is not in a user's clone).
    static let sharedVMPresent: Bool = {
        if access(runInVM, X_OK) == 0 { return true }
        return skip("\(runInVM) not found (../shared/vm is not beside this checkout)", "the VM checks")
    }()

    /// The host side of the VM: what tests/vm/install-host-deps.sh reports, after
    /// installing what was missing (when root). Evaluated once.
    static let host: HostSetup = HostSetup.prepare()

    /// The trait condition: false (skip) only when the host cannot run the VM and
    /// that cannot be fixed here; a broken install script still runs the test, which fails.
    static var hostUsable: Bool {
        guard sharedVMPresent else { return false }
        if case .unavailable(let why) = host { return skip(why) }
        return true
    }
}

enum HostSetup {
    /// `values`: every key=value line the script printed (with --lsm also
    /// apparmor_parser=, apparmor_abi=, checkpolicy=).
    case ready(kernel: String, modules: String, cache: String, values: [String: String])
    /// install-host-deps.sh exit 2: the host cannot run the VM and the script cannot fix it.
    case unavailable(String)
    /// Anything else (a bug in the script, a failed download...).
    case broken(String)

    static func prepare(_ arguments: [String] = []) -> HostSetup {
        let r = Shell.run(["/bin/sh", VM.installScript] + arguments, timeout: 900)
        if r.status == 2 { return .unavailable(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard r.status == 0 else {
            return .broken("\(VM.installScript) exited with status \(r.status):\n\(r.stderr)\(r.stdout)")
        }
        var kv: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            kv[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let k = kv["kernel"], let m = kv["modules"], let c = kv["cache"] else {
            return .broken("\(VM.installScript) printed no kernel=/modules=/cache= lines:\n\(r.stdout)\(r.stderr)")
        }
        return .ready(kernel: k, modules: m, cache: c, values: kv)
    }
}

// MARK: - Running programs

enum Shell {
    struct Result { var status: Int32; var stdout: String; var stderr: String; var seconds: Double; var timedOut: Bool }

    /// Runs argv with stdin /dev/null, output into temporary files (no pipe
    /// deadlock), killing it after `timeout` seconds.
    static func run(_ argv: [String], environment: [String: String] = [:], timeout: Double) -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cgv2-\(getpid())-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        let outH = try? FileHandle(forWritingTo: outURL), errH = try? FileHandle(forWritingTo: errURL)
        p.standardOutput = outH
        p.standardError = errH
        let start = Date()
        do { try p.run() } catch {
            return Result(status: 127, stdout: "", stderr: "cannot start \(argv[0]): \(error)", seconds: 0, timedOut: false)
        }
        var timedOut = false
        while p.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                p.terminate()
                usleep(2_000_000)
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            usleep(50_000)
        }
        p.waitUntilExit()
        try? outH?.close(); try? errH?.close()
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Result(status: p.terminationStatus, stdout: out, stderr: err,
                      seconds: Date().timeIntervalSince(start), timedOut: timedOut)
    }
}

// MARK: - The static binary

enum StaticBinary {
    /// nil when `path` is an executable ELF64 without a PT_INTERP program header
    /// (a fully static executable); otherwise what is wrong with it.
    static func problem(_ path: String) -> String? {
        guard access(path, X_OK) == 0 else { return "the static berth-runtime is missing at \(path): \(VM.buildHint)" }
        guard let fh = FileHandle(forReadingAtPath: path) else { return "cannot open \(path)" }
        defer { try? fh.close() }
        let header = [UInt8](fh.readData(ofLength: 64))
        guard header.count == 64, header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46 else {
            return "\(path) is not an ELF file"
        }
        guard header[4] == 2, header[5] == 1 else { return "\(path) is not a little-endian ELF64 file" }
        func le(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 {
            (0..<n).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) }
        }
        let phoff = le(header, 0x20, 8), phentsize = Int(le(header, 0x36, 2)), phnum = Int(le(header, 0x38, 2))
        guard phentsize >= 4, phnum > 0 else { return "\(path) has no program headers" }
        fh.seek(toFileOffset: phoff)
        let table = [UInt8](fh.readData(ofLength: phentsize * phnum))
        guard table.count == phentsize * phnum else { return "\(path): truncated program header table" }
        for i in 0..<phnum where le(table, i * phentsize, 4) == 3 /* PT_INTERP */ {
            return "\(path) is dynamically linked (it has a PT_INTERP header); the VM needs the fully static build: \(VM.buildHint)"
        }
        return nil
    }
}

// MARK: - TAP

struct TAPCheck {
    var number: Int
    var ok: Bool
    var name: String
    var todo: String?
    /// The "# ..." diagnostics around the check line: since the previous check
    /// (the script prints a check's evidence first) and up to the next one
    /// (got/want of a failed comparison).
    var diagnostics: [String] = []
}

struct TAPReport {
    var checks: [TAPCheck] = []
    var plan: Int?
    var summary: (passed: Int, failed: Int)?

    init(_ text: String) {
        var sincePrevious: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            if var c = Self.checkLine(line) {
                c.diagnostics = sincePrevious
                checks.append(c)
                sincePrevious = []
            } else if line.hasPrefix("#") {
                sincePrevious.append(line)
                if !checks.isEmpty { checks[checks.count - 1].diagnostics.append(line) }
            } else if line.hasPrefix("1.."), let n = Int(line.dropFirst(3)) {
                plan = n
            } else if let s = Self.summaryLine(line) {
                summary = s
            }
        }
    }

    /// "ok 3 - name", "not ok 4 - name # TODO reason".
    static func checkLine(_ line: String) -> TAPCheck? {
        var rest = Substring(line)
        let ok: Bool
        if rest.hasPrefix("ok ") { ok = true; rest = rest.dropFirst(3) }
        else if rest.hasPrefix("not ok ") { ok = false; rest = rest.dropFirst(7) }
        else { return nil }
        let digits = rest.prefix { $0.isNumber }
        guard let number = Int(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        if rest.hasPrefix(" - ") { rest = rest.dropFirst(3) } else if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        var name = String(rest), todo: String?
        if let r = name.range(of: " # TODO") {
            todo = String(name[r.upperBound...]).trimmingCharacters(in: .whitespaces)
            name = String(name[..<r.lowerBound])
        }
        return TAPCheck(number: number, ok: ok, name: name, todo: todo)
    }

    /// "59 passed, 0 failed".
    static func summaryLine(_ line: String) -> (Int, Int)? {
        let words = line.split(separator: " ")
        guard words.count == 4, words[1] == "passed,", words[3] == "failed",
              let p = Int(words[0]), let f = Int(words[2]) else { return nil }
        return (p, f)
    }
}

// MARK: - Running a check script in the VM

enum VMCheck {
    /// Boots the VM with `files` in /job and runs `command` there (a check
    /// script printing TAP), prints its output, and records one expectation per
    /// check, plus: the VM finished, exited 0, printed a plan that matches the
    /// checks and the closing "N passed, M failed" line. `label` names the
    /// check in failures ("cgroup v2", "AppArmor"...).
    static func run(_ label: String, kernel: String, modules: String, cache: String, kernelArgs: String? = nil,
                    files: [String], command: [String]) {
        var argv = ["/bin/bash", VM.runInVM, "-T", "-m", "none", "-t", String(VM.vmTimeLimit), "-k", kernel, "-K", modules]
        if let kernelArgs { argv += ["-A", kernelArgs] }
        argv += files + ["--"] + command
        let r = Shell.run(argv, environment: ["CGV2_CACHE": cache], timeout: Double(VM.vmTimeLimit + 60))

        // The VM's output, prefixed so that its "N passed, M failed" is not taken
        // for this runner's own closing line.
        let tag = "[\(label) vm] "
        print(r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map { tag + $0 }.joined(separator: "\n"))
        let timings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("run-in-vm.sh:") }
        print(timings.map { "[\(label) host] " + $0 }.joined(separator: "\n"))
        print(String(format: "[%@ host] run-in-vm.sh took %.1f s (binary %@)", label, r.seconds, VM.runtimePath))

        let report = TAPReport(r.stdout)
        #expect(!r.timedOut, "\(label): run-in-vm.sh did not finish within \(VM.vmTimeLimit + 60) s")
        #expect(r.status == 0, Comment(rawValue: "\(label): run-in-vm.sh exited with status \(r.status)"
            + (r.status == 124 ? " (the VM ran past -t \(VM.vmTimeLimit))" : "")
            + (r.status == 125 ? " (the VM ended without reporting a status: kernel panic, qemu error or init failure; rerun with -v)" : "")
            + "\nstderr:\n\(r.stderr)"))
        #expect(!report.checks.isEmpty, "\(label): the check script printed no TAP lines")
        #expect(report.plan == report.checks.count,
                "\(label): TAP plan 1..\(report.plan.map(String.init) ?? "?") but \(report.checks.count) checks ran (cut short?)")
        #expect(report.summary != nil, "\(label): no closing 'N passed, M failed' line from the check script")

        for c in report.checks {
            let detail = Comment(rawValue: "\(label) check \(c.number) failed: \(c.name)"
                + (c.diagnostics.isEmpty ? "" : "\n" + c.diagnostics.joined(separator: "\n")))
            let passed = c.ok
            if let todo = c.todo {
                // A known gap of the runtime (TAP TODO): shown as a known issue;
                // once it passes, Swift Testing reports that the known issue is gone.
                withKnownIssue(Comment(rawValue: todo)) { #expect(passed, detail) }
            } else {
                #expect(passed, detail)
            }
        }
        if let s = report.summary {
            let failedHere = report.checks.filter { !$0.ok && $0.todo == nil }.count
            #expect(s.failed == failedHere, "\(label): the script says \(s.failed) failed, its TAP lines say \(failedHere)")
        }
    }
}

// MARK: - The test

@Suite("cgroup v2 (in a qemu VM)")
struct CgroupV2VMTests {
    @Test("berth-runtime on a pure cgroup v2 host: limits, freeze, exec, ps, kill, delete, refusals",
          .enabled(if: VM.sharedVMPresent, "../shared/vm (run-in-vm.sh) is not beside this checkout"),
          .enabled(if: VM.hostUsable, "qemu or a kernel is unavailable and cannot be installed (see stderr)"),
          .timeLimit(.minutes(10)))
    func cgroupV2Driver() throws {
        if let problem = StaticBinary.problem(VM.runtimePath) {
            Issue.record(Comment(rawValue: problem))
            return
        }
        guard case .ready(let kernel, let modules, let cache, _) = VM.host else {
            if case .broken(let why) = VM.host { Issue.record(Comment(rawValue: "host setup failed: \(why)")) }
            return
        }

        // memhog: a static program that allocates N MiB (the VM has no compiler).
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cgv2-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let memhog = work + "/memhog"
        let cc = Shell.run(["/usr/bin/env", "gcc", "-static", "-O2", "-o", memhog, VM.memhogSource], timeout: 120)
        guard cc.status == 0 else {
            Issue.record("gcc -static \(VM.memhogSource) failed (status \(cc.status)): \(cc.stderr)")
            return
        }
        print(String(format: "[host] gcc -static memhog took %.1f s", cc.seconds))

        VMCheck.run("cgroup v2", kernel: kernel, modules: modules, cache: cache,
                    files: [VM.runtimePath, memhog, VM.libScript, VM.checkScript], command: ["./cgroup-v2-check.sh"])
    }
}
