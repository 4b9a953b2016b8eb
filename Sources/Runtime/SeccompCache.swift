import CBerth
import CSeccomp
import Glibc
import OCI

/// A compiled seccomp filter: the classic BPF program libseccomp generates for
/// a profile, and the seccomp(2) flags libseccomp would load it with.
struct SeccompProgram {
    let bytes: [UInt8]
    let flags: UInt32
}

/// Compiling Docker's default profile with libseccomp takes about 9 ms, the
/// largest single cost of a `create` (issue 6), and berthd gives every
/// container the same profile. So the runtime keeps the BPF libseccomp
/// exported under `<root>/seccomp cache/<sha256 of the input>`, and a later
/// create or exec with the same input loads it with seccomp(2) directly.
///
/// The input is everything that shapes the program: the seccomp section as
/// parsed (re-encoded, so layout and whitespace do not matter), the runtime's
/// build id (which also pins the statically linked libseccomp and its syscall
/// tables), libseccomp's version, the native architecture and the kernel
/// (libseccomp probes it for the actions and flags it accepts). An entry
/// stores the whole input, compared byte for byte, not only its hash.
///
/// This runs in the runtime before the clone: the init cannot reach --root
/// after pivot_root, and the exec process has joined the container's mount
/// namespace. The child still loads the program as late as before
/// (ProcessSetup.finish). Any problem means no program, and the child
/// compiles the profile with libseccomp as it always did; the cache never
/// fails a create. Profiles with SCMP_ACT_NOTIFY are never cached: their
/// listener fd comes from libseccomp's load.
enum SeccompCache {
    /// Entry layout: magic, input length and program length (little-endian
    /// UInt32), SHA-256 of the program, the input, the program.
    static let magic: [UInt8] = Array("BSECBPF1".utf8)
    static let headerSize = 8 + 4 + 4 + 32
    /// sizeof(struct sock_filter), and the kernel's BPF_MAXINSNS.
    static let instructionSize = 8
    static let maxInstructions = 4096
    /// Inputs are the profile's JSON; anything near this is not one we wrote.
    static let maxInputSize = 16 << 20

    /// Beside the container directories, so under a name no container id can
    /// have (StateStore.validate refuses spaces): `create` can never collide
    /// with it, and `list` skips it (no state.json).
    static func directory(root: String) -> String { root + "/seccomp cache" }

    /// The program for `s`, from the cache or compiled now (and stored);
    /// nil when the child should compile it itself.
    static func program(_ s: Seccomp, raw: JSONValue?, root: String, log: RuntimeLog) -> SeccompProgram? {
        guard let raw, !SeccompFilter.usesNotify(s), let flags = loadFlags(s), let input = input(raw) else { return nil }
        var digest = [UInt8](repeating: 0, count: 32)
        input.withUnsafeBytes { cb_sha256($0.baseAddress, $0.count, &digest) }
        let dir = directory(root: root)
        let path = dir + "/" + hex(digest)
        if let bytes = read(path, dir: dir, input: input) {
            log.debug("seccomp: compiled filter from \(path)")
            return SeccompProgram(bytes: bytes, flags: flags)
        }
        let ctx: scmp_filter_ctx
        // A profile libseccomp refuses is left to the child, which reports it as before.
        do { ctx = try SeccompFilter.build(s, log: log) } catch { return nil }
        defer { seccomp_release(ctx) }
        guard let bytes = export(ctx) else { return nil }
        store(path, dir: dir, input: input, program: bytes, log: log)
        return SeccompProgram(bytes: bytes, flags: flags)
    }

    /// The flags libseccomp's seccomp_load passes to seccomp(2) for the
    /// profile's attributes (CTL_NNP stays off: no_new_privs is set, or not,
    /// by ProcessSetup exactly as before). libseccomp 2.5 adds TSYNC_ESRCH to
    /// TSYNC when the kernel has it, which is API level 6.
    static func loadFlags(_ s: Seccomp) -> UInt32? {
        // linux/seccomp.h's SECCOMP_FILTER_FLAG_* values (kernel ABI).
        let tsync: UInt32 = 1, logFlag: UInt32 = 2, specAllow: UInt32 = 4, tsyncESRCH: UInt32 = 16
        var flags: UInt32 = 0
        for f in s.flags ?? [] {
            switch f {
            case "SECCOMP_FILTER_FLAG_TSYNC":
                flags |= tsync
                if seccomp_api_get() >= 6 { flags |= tsyncESRCH }
            case "SECCOMP_FILTER_FLAG_LOG": flags |= logFlag
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= specAllow
            default: return nil
            }
        }
        return flags
    }

    /// The cache key's input; nil without a build id, since then two runtime
    /// binaries could not be told apart.
    static func input(_ raw: JSONValue) -> [UInt8]? {
        var id = [UInt8](repeating: 0, count: 64)
        let n = cb_build_id(&id, id.count)
        guard n > 0 else { return nil }
        var u = utsname()
        uname(&u)
        let v = seccomp_version()!.pointee
        var text = "berth-runtime seccomp cache 1\n"
        text += "runtime \(RuntimeInfo.version) \(hex(Array(id[..<Int(n)])))\n"
        text += "libseccomp \(v.major).\(v.minor).\(v.micro)\n"
        text += "arch \(seccomp_arch_native())\n"
        text += "kernel \(field(&u.sysname)) \(field(&u.release)) \(field(&u.version)) \(field(&u.machine))\n\n"
        text += JSONWriter.write(raw)
        return Array(text.utf8)
    }

    /// The program of the entry at `path` when it is intact and made from
    /// exactly `input`; nil otherwise (absent, foreign, truncated, altered).
    static func read(_ path: String, dir: String, input: [UInt8]) -> [UInt8]? {
        guard isPrivate(dir) else { return nil }
        let fd = cb_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0)
        if fd < 0 { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid() else { return nil }
        let size = Int(st.st_size)
        guard size > headerSize, size <= headerSize + maxInputSize + maxInstructions * instructionSize,
              let data = try? FS.readAll(fd, what: path, limit: size + 1), data.count == size,
              Array(data[0..<8]) == magic else { return nil }
        let inputCount = Int(le32(data, 8)), programCount = Int(le32(data, 12))
        guard inputCount == input.count, headerSize + inputCount + programCount == size,
              programCount > 0, programCount % instructionSize == 0, programCount / instructionSize <= maxInstructions,
              data[headerSize..<(headerSize + inputCount)].elementsEqual(input) else { return nil }
        let program = Array(data[(headerSize + inputCount)...])
        var digest = [UInt8](repeating: 0, count: 32)
        program.withUnsafeBytes { cb_sha256($0.baseAddress, $0.count, &digest) }
        guard data[16..<48].elementsEqual(digest) else { return nil }
        return program
    }

    /// libseccomp's program for `ctx`, through a memory file (libseccomp 2.5
    /// exports to an fd only).
    static func export(_ ctx: scmp_filter_ctx) -> [UInt8]? {
        let fd = cb_memfd("berth-seccomp")
        if fd < 0 { return nil }
        defer { close(fd) }
        guard seccomp_export_bpf(ctx, fd) == 0, lseek(fd, 0, SEEK_SET) == 0,
              let bytes = try? FS.readAll(fd, what: "seccomp program", limit: maxInstructions * instructionSize + 1),
              !bytes.isEmpty, bytes.count % instructionSize == 0, bytes.count / instructionSize <= maxInstructions else { return nil }
        return bytes
    }

    /// Writes the entry atomically (temporary file, then rename), so a reader
    /// sees a whole entry or none. Failing to store only costs the next create
    /// a compilation. No fsync: the root is normally on tmpfs, and an entry
    /// torn by a crash fails the checks in `read`.
    static func store(_ path: String, dir: String, input: [UInt8], program: [UInt8], log: RuntimeLog) {
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            log.debug("seccomp cache: mkdir \(dir): \(errnoText(errno))")
            return
        }
        guard isPrivate(dir) else {
            log.debug("seccomp cache: \(dir) is not a private directory of ours; not caching")
            return
        }
        var digest = [UInt8](repeating: 0, count: 32)
        program.withUnsafeBytes { cb_sha256($0.baseAddress, $0.count, &digest) }
        var entry = magic
        entry.reserveCapacity(headerSize + input.count + program.count)
        appendLE32(&entry, UInt32(input.count))
        appendLE32(&entry, UInt32(program.count))
        entry += digest
        entry += input
        entry += program
        do { try FS.writeAtomically(path, entry, mode: 0o600) } catch {
            log.debug("seccomp cache: \(error.message)")
        }
    }

    /// Only a directory of our own that nobody else may write to is trusted
    /// with the programs containers will run under.
    static func isPrivate(_ dir: String) -> Bool {
        var st = stat()
        return lstat(dir, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && st.st_uid == geteuid() && st.st_mode & 0o022 == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func le32(_ d: [UInt8], _ at: Int) -> UInt32 {
        UInt32(d[at]) | UInt32(d[at + 1]) << 8 | UInt32(d[at + 2]) << 16 | UInt32(d[at + 3]) << 24
    }

    private static func appendLE32(_ d: inout [UInt8], _ v: UInt32) {
        for i in 0..<4 { d.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    /// A NUL-terminated utsname field.
    private static func field<T>(_ f: inout T) -> String {
        withUnsafeBytes(of: &f) { b in String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
