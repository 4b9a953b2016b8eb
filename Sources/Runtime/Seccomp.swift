import CBerth
import CSeccomp
import Glibc
import OCI

/// Builds and loads linux.seccomp through libseccomp. Syscall names this
/// libseccomp does not know are skipped with a warning (as runc does), so one
/// profile serves older and newer kernels; everything else malformed is an error.
enum SeccompFilter {
    static let actions: Set<String> = [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    ]
    static let operators: [String: scmp_compare] = [
        "SCMP_CMP_NE": SCMP_CMP_NE, "SCMP_CMP_LT": SCMP_CMP_LT, "SCMP_CMP_LE": SCMP_CMP_LE, "SCMP_CMP_EQ": SCMP_CMP_EQ,
        "SCMP_CMP_GE": SCMP_CMP_GE, "SCMP_CMP_GT": SCMP_CMP_GT, "SCMP_CMP_MASKED_EQ": SCMP_CMP_MASKED_EQ,
    ]
    static let flagNames = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]

    /// The libseccomp action value; errno actions default to EPERM as in runc.
    static func action(_ name: String, errnoRet: UInt32?, defaultErrno: UInt32?) throws(RuntimeError) -> UInt32 {
        let ret = errnoRet ?? defaultErrno ?? UInt32(EPERM)
        switch name {
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | (ret & 0xffff)
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | (ret & 0xffff)
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_NOTIFY": return 0x7fc0_0000
        default: throw RuntimeError("linux.seccomp: unknown action \(name.debugDescription)")
        }
    }

    /// Checks the profile without loading it (create calls this before cloning).
    static func validate(_ s: Seccomp) throws(RuntimeError) {
        _ = try action(s.defaultAction, errnoRet: nil, defaultErrno: s.defaultErrnoRet)
        for f in s.flags ?? [] where !flagNames.contains(f) {
            throw RuntimeError("linux.seccomp.flags: unknown flag \(f.debugDescription)")
        }
        var usesNotify = s.defaultAction == "SCMP_ACT_NOTIFY"
        for call in s.syscalls ?? [] {
            _ = try action(call.action, errnoRet: call.errnoRet, defaultErrno: nil)
            if call.action == "SCMP_ACT_NOTIFY" { usesNotify = true }
            for a in call.args ?? [] {
                guard operators[a.op] != nil else { throw RuntimeError("linux.seccomp: unknown operator \(a.op.debugDescription)") }
                guard a.index < 6 else { throw RuntimeError("linux.seccomp: argument index \(a.index) is out of range (0-5)") }
            }
        }
        if usesNotify, (s.listenerPath ?? "").isEmpty {
            throw RuntimeError("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath")
        }
        if s.listenerMetadata != nil, s.listenerPath == nil {
            throw RuntimeError("linux.seccomp.listenerMetadata must not be set without listenerPath")
        }
        for arch in s.architectures ?? [] where archToken(arch) == 0 {
            throw RuntimeError("linux.seccomp.architectures: unknown architecture \(arch.debugDescription)")
        }
    }

    static func archToken(_ name: String) -> UInt32 {
        guard name.hasPrefix("SCMP_ARCH_") else { return 0 }
        return seccomp_arch_resolve_name(String(name.dropFirst(10)).lowercased())
    }

    /// Whether the profile hands a listener fd to an agent (SCMP_ACT_NOTIFY).
    static func usesNotify(_ s: Seccomp) -> Bool {
        s.defaultAction == "SCMP_ACT_NOTIFY" || (s.syscalls ?? []).contains { $0.action == "SCMP_ACT_NOTIFY" }
    }

    /// Builds the libseccomp filter context for the profile; the caller releases it.
    static func build(_ s: Seccomp, log: RuntimeLog) throws(RuntimeError) -> scmp_filter_ctx {
        let defaultAction = try action(s.defaultAction, errnoRet: nil, defaultErrno: s.defaultErrnoRet)
        guard let ctx = seccomp_init(defaultAction) else { throw RuntimeError("linux.seccomp: seccomp_init failed") }
        do throws(RuntimeError) {
            // no_new_privs is the config's decision (process.noNewPrivileges), not libseccomp's.
            _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
            for arch in s.architectures ?? [] {
                let r = seccomp_arch_add(ctx, archToken(arch))
                if r < 0 && r != -EEXIST { throw RuntimeError("linux.seccomp: add architecture \(arch): \(errnoText(-r))") }
            }
            for f in s.flags ?? [] {
                let attr: scmp_filter_attr
                switch f {
                case "SECCOMP_FILTER_FLAG_TSYNC": attr = SCMP_FLTATR_CTL_TSYNC
                case "SECCOMP_FILTER_FLAG_LOG": attr = SCMP_FLTATR_CTL_LOG
                case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": attr = SCMP_FLTATR_CTL_SSB
                default: throw RuntimeError("linux.seccomp.flags: \(f) is not supported by this libseccomp")
                }
                let r = seccomp_attr_set(ctx, attr, 1)
                if r < 0 { throw RuntimeError("linux.seccomp.flags: \(f): \(errnoText(-r))") }
            }
            var rules = 0
            for call in s.syscalls ?? [] {
                let act = try action(call.action, errnoRet: call.errnoRet, defaultErrno: nil)
                // libseccomp refuses a rule whose action is the default one; it is a no-op anyway.
                if act == defaultAction { continue }
                let conditions: [scmp_arg_cmp] = (call.args ?? []).map {
                    scmp_arg_cmp(arg: $0.index, op: operators[$0.op]!, datum_a: $0.value, datum_b: $0.valueTwo ?? 0)
                }
                for name in call.names {
                    let nr = seccomp_syscall_resolve_name(name)
                    if nr == __NR_SCMP_ERROR {
                        log.debug("seccomp: unknown syscall \(name.debugDescription), skipping it")
                        continue
                    }
                    // Conditions on distinct arguments form one rule (all must match);
                    // several conditions on the same argument become one rule each
                    // (any may match), which is how runc reads such profiles.
                    let indices = Set(conditions.map(\.arg))
                    if indices.count == conditions.count {
                        try add(ctx, act, nr, conditions, name)
                    } else {
                        for c in conditions { try add(ctx, act, nr, [c], name) }
                    }
                    rules += 1
                }
            }
            // A binary tree of syscall numbers instead of libseccomp's default
            // linear list of tests (the program is generated at export or load,
            // so the attribute may come last): Docker's profile then attaches
            // in 0.34 ms instead of 0.83 (the kernel checks every syscall
            // number against the filter when it caches the verdicts), and each
            // syscall in the container takes a few tests, not hundreds. Like
            // runc, not for a handful of rules: libseccomp before 2.5.4 drops
            // the default action of a tree with no rules (libseccomp issue 370).
            if rules >= 8 { _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) }
        } catch {
            seccomp_release(ctx)
            throw error
        }
        return ctx
    }

    /// Loads the filter into the calling process: `program`, compiled before
    /// (SeccompCache), when there is one, otherwise the profile through
    /// libseccomp. With a SCMP_ACT_NOTIFY rule, sends the listener fd over
    /// `sync` and waits until the runtime has handed it to the seccomp agent.
    static func load(_ s: Seccomp, program: SeccompProgram?, log: RuntimeLog, sync: SyncChannel) throws(RuntimeError) {
        if let program {
            let r = program.bytes.withUnsafeBytes { cb_seccomp_set_filter($0.baseAddress, $0.count, program.flags) }
            if r == 0 { return }
            // Nothing was installed; libseccomp tries again and reports its own error.
            log.debug("seccomp: loading the precompiled filter failed (\(errnoText(errno))), compiling it again")
        }
        let ctx = try build(s, log: log)
        defer { seccomp_release(ctx) }
        let r = seccomp_load(ctx)
        if r < 0 { throw RuntimeError("linux.seccomp: load the filter: \(errnoText(-r))") }
        guard usesNotify(s) else { return }
        let listener = seccomp_notify_fd(ctx)
        if listener < 0 { throw RuntimeError("linux.seccomp: get the notify fd: \(errnoText(-listener))") }
        sync.send(.seccompFD, fd: listener)
        close(listener)
        _ = try sync.expect(.seccompDone, orElse: "runtime went away while passing the seccomp listener")
    }

    /// Runtime side: the container process state and the listener fd, sent once
    /// to the agent listening on listenerPath (config-linux.md, container process state).
    static func sendToAgent(_ s: Seccomp, fd: Int32, pid: pid_t, state: JSONValue) throws(RuntimeError) {
        guard let path = s.listenerPath else { return }
        var message: [(String, JSONValue)] = [("ociVersion", .string(RuntimeInfo.ociVersion)), ("fds", ["seccompFd"]), ("pid", .int(pid))]
        if let m = s.listenerMetadata { message.append(("metadata", .string(m))) }
        message.append(("state", state))
        let sock: Int32
        do { sock = try Console.connect(path) } catch {
            throw RuntimeError("linux.seccomp.listenerPath: \(error.message)")
        }
        defer { close(sock) }
        let text = JSONWriter.write(.object(message))
        if cb_send_fd(sock, fd, text, text.utf8.count) != 0 {
            throw RuntimeError.sys("send the seccomp listener fd to \(path)")
        }
    }

    private static func add(_ ctx: scmp_filter_ctx, _ act: UInt32, _ nr: Int32, _ conds: [scmp_arg_cmp], _ name: String) throws(RuntimeError) {
        let r = conds.withUnsafeBufferPointer { seccomp_rule_add_array(ctx, act, nr, UInt32($0.count), $0.baseAddress) }
        if r < 0 { throw RuntimeError("linux.seccomp: add rule for \(name): \(errnoText(-r))") }
    }
}
