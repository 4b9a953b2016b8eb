import OCI

/// The cgroup v2 device allowlist as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE):
/// v2 has no devices.allow file; the kernel runs this program on every open
/// and mknod of a device node in the cgroup and refuses when it returns 0.
///
/// The program reads struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
/// u32 minor; } (access_type: low 16 bits the device type, block 1 / char 2;
/// high 16 bits the access, mknod 1 / read 2 / write 4) and checks the rules
/// from the last to the first, so that as with v1's devices.allow/deny a later
/// rule overrides an earlier one; the first rule that matches decides. An
/// allow rule matches when every requested access is in it, a deny rule when
/// any is (v1's partial match for denials). Nothing matching means deny.
struct DeviceFilterProgram {
    private(set) var instructions: [UInt64] = []

    // Registers: r1 holds the context on entry; r2-r5 the fields it is split into.
    private static let r0: UInt8 = 0, r1: UInt8 = 1, type: UInt8 = 2, access: UInt8 = 3, major: UInt8 = 4, minor: UInt8 = 5

    // Opcodes (linux/bpf_common.h, linux/bpf.h): class | operation | source.
    private static let loadWord: UInt8 = 0x61      // BPF_LDX | BPF_MEM | BPF_W
    private static let and32: UInt8 = 0x54         // BPF_ALU | BPF_AND | BPF_K
    private static let rsh32: UInt8 = 0x74         // BPF_ALU | BPF_RSH | BPF_K
    private static let mov32: UInt8 = 0xb4         // BPF_ALU | BPF_MOV | BPF_K
    private static let mov32Reg: UInt8 = 0xbc      // BPF_ALU | BPF_MOV | BPF_X
    private static let jumpNE: UInt8 = 0x55        // BPF_JMP | BPF_JNE | BPF_K
    private static let jumpNEReg: UInt8 = 0x5d     // BPF_JMP | BPF_JNE | BPF_X
    private static let jumpEQ: UInt8 = 0x15        // BPF_JMP | BPF_JEQ | BPF_K
    private static let exit: UInt8 = 0x95          // BPF_JMP | BPF_EXIT

    /// struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; } as
    /// one little-endian word (the bit-field order is the little-endian one).
    static func insn(_ code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> UInt64 {
        UInt64(code) | UInt64((dst & 0xf) | (src & 0xf) << 4) << 8
            | UInt64(UInt16(bitPattern: off)) << 16 | UInt64(UInt32(bitPattern: imm)) << 32
    }

    init(rules: [Resources.DeviceRule]) throws(RuntimeError) {
        typealias P = DeviceFilterProgram
        instructions = [
            P.insn(P.loadWord, dst: P.type, src: P.r1, off: 0),
            P.insn(P.and32, dst: P.type, imm: 0xffff),
            P.insn(P.loadWord, dst: P.access, src: P.r1, off: 0),
            P.insn(P.rsh32, dst: P.access, imm: 16),
            P.insn(P.loadWord, dst: P.major, src: P.r1, off: 4),
            P.insn(P.loadWord, dst: P.minor, src: P.r1, off: 8),
        ]
        for rule in rules.reversed() {
            let block = try P.block(for: rule)
            instructions += block
            // A rule with no condition decides everything that reaches it; the
            // rules before it can never be reached.
            if block.count == 2 { return }
        }
        instructions += [P.insn(P.mov32, dst: P.r0, imm: 0), P.insn(P.exit)]
    }

    /// One rule: its conditions, each jumping past the block when it fails, then
    /// "return allow" (1) or "return deny" (0).
    private static func block(for rule: Resources.DeviceRule) throws(RuntimeError) -> [UInt64] {
        _ = try DeviceRules.text(rule)  // validates type and access
        var conditions: [(code: UInt8, dst: UInt8, src: UInt8, imm: Int32, setup: [UInt64])] = []
        switch rule.type ?? "a" {
        case "b": conditions.append((jumpNE, type, 0, 1, []))
        case "c": conditions.append((jumpNE, type, 0, 2, []))
        default: break
        }
        var mask: Int32 = 0
        for ch in rule.access ?? "rwm" {
            switch ch {
            case "m": mask |= 1
            case "r": mask |= 2
            default: mask |= 4
            }
        }
        if mask != 7 {
            // r1 = access & mask. Allow: every requested bit in the rule (r1 == access);
            // deny: any requested bit in it (r1 != 0).
            let setup = [insn(mov32Reg, dst: r1, src: access), insn(and32, dst: r1, imm: mask)]
            conditions.append(rule.allow ? (jumpNEReg, r1, access, 0, setup) : (jumpEQ, r1, 0, 0, setup))
        }
        if let m = rule.major, m >= 0 {
            guard m <= Int64(Int32.max) else { throw RuntimeError("linux.resources.devices: major \(m) is out of range") }
            conditions.append((jumpNE, major, 0, Int32(m), []))
        }
        if let m = rule.minor, m >= 0 {
            guard m <= Int64(Int32.max) else { throw RuntimeError("linux.resources.devices: minor \(m) is out of range") }
            conditions.append((jumpNE, minor, 0, Int32(m), []))
        }
        let length = conditions.reduce(0) { $0 + $1.setup.count + 1 } + 2
        var out: [UInt64] = []
        for c in conditions {
            out += c.setup
            // The jump offset counts the instructions after this one up to the next block.
            let skip = Int16(length - out.count - 1)
            out.append(insn(c.code, dst: c.dst, src: c.src, off: skip, imm: c.imm))
        }
        out += [insn(mov32, dst: r0, imm: rule.allow ? 1 : 0), insn(exit)]
        return out
    }
}
