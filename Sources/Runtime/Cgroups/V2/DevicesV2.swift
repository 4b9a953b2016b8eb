import CBerth
import Glibc
import OCI

/// v2 devices: the rules compiled into an eBPF program (DeviceFilterProgram),
/// loaded with bpf(BPF_PROG_LOAD) and attached to the container's cgroup
/// directory. The attachment keeps the program alive as long as the cgroup
/// exists, so the program fd is closed right away.
enum DevicesV2 {
    static func apply(_ rules: [Resources.DeviceRule], dir: String) throws(RuntimeError) {
        let program = try DeviceFilterProgram(rules: rules)
        var log = [CChar](repeating: 0, count: 8192)
        let insns = program.instructions
        let progFD = insns.withUnsafeBufferPointer { p in
            log.withUnsafeMutableBufferPointer { l in
                cb_bpf_load_device_program(p.baseAddress, UInt32(p.count), l.baseAddress, UInt32(l.count))
            }
        }
        if progFD < 0 {
            let e = errno
            let verifier = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: "; ")
            throw RuntimeError("linux.resources.devices: load the cgroup v2 device filter (eBPF): \(errnoText(e))"
                + (verifier.isEmpty ? "" : " (verifier: \(verifier))"))
        }
        defer { close(progFD) }
        // bpf(2) needs a real descriptor of the directory; O_PATH ones are refused.
        let dirFD = cb_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        if dirFD < 0 { throw RuntimeError.sys("linux.resources.devices: open cgroup \(dir)") }
        defer { close(dirFD) }
        if cb_bpf_attach_device_program(progFD, dirFD) != 0 {
            throw RuntimeError.sys("linux.resources.devices: attach the device filter to cgroup \(dir)")
        }
    }
}
