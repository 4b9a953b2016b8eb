import CBerth
import Glibc

/// What the builder needs to know about this host. `detect()` reads it once; tests
/// build their own so that results do not depend on the machine.
public struct HostInfo: Sendable, Equatable {
    /// /proc/sys/kernel/cap_last_cap: the highest capability the kernel has.
    public var lastCap: Int
    /// Go's name of the native architecture (amd64, arm64, …), for seccomp's archMap.
    public var arch: String
    /// The kernel's (major, minor), for seccomp's minKernel.
    public var kernelMajor: Int
    public var kernelMinor: Int
    /// Online CPUs, the upper bound of `--cpus`.
    public var cpuCount: Int
    /// The memory cgroup can limit swap (memsw on v1, memory.swap.max on v2). Without it
    /// `--memory-swap` is dropped with a warning, as Docker does.
    public var swapLimit: Bool
    /// The host's name: HOSTNAME of a container in the host's UTS namespace.
    public var hostname: String
    /// /sys/devices/system/cpu/cpuN/thermal_throttle of the possible CPUs that have one:
    /// masked as Docker masks them (they leak host activity, GHSA-6fw5-f8r9-fgfm).
    public var thermalThrottlePaths: [String] = []

    public init(lastCap: Int = 40, arch: String = "amd64", kernelMajor: Int = 6, kernelMinor: Int = 1,
                cpuCount: Int = 1, swapLimit: Bool = true, hostname: String = "host") {
        self.lastCap = lastCap; self.arch = arch; self.kernelMajor = kernelMajor; self.kernelMinor = kernelMinor
        self.cpuCount = cpuCount; self.swapLimit = swapLimit; self.hostname = hostname
    }

    public static func detect() -> HostInfo {
        var info = HostInfo()
        if let text = readSmallFile("/proc/sys/kernel/cap_last_cap"),
           let n = Int(text.filter { !$0.isWhitespace }) { info.lastCap = n }
        var u = utsname()
        if uname(&u) == 0 {
            let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            info.arch = goArch[machine] ?? machine
            let nums = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
            if nums.count == 2 { info.kernelMajor = nums[0]; info.kernelMinor = nums[1] }
        }
        info.cpuCount = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        info.swapLimit = access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0
            || (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 && swapOnV2())
        for cpu in possibleCPUs() {
            let path = "/sys/devices/system/cpu/cpu\(cpu)/thermal_throttle"
            if access(path, F_OK) == 0 { info.thermalThrottlePaths.append(path) }
        }
        var name = [CChar](repeating: 0, count: 256)
        if gethostname(&name, name.count - 1) == 0 { info.hostname = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return info
    }

    /// /sys/devices/system/cpu/possible: "0-3,8".
    private static func possibleCPUs() -> [Int] {
        guard let text = readSmallFile("/sys/devices/system/cpu/possible") else { return [] }
        var cpus: [Int] = []
        for part in text.filter({ !$0.isWhitespace }).split(separator: ",") {
            let ends = part.split(separator: "-").compactMap { Int($0) }
            if ends.count == 1 { cpus.append(ends[0]) } else if ends.count == 2, ends[0] <= ends[1] { cpus += Array(ends[0]...ends[1]) }
        }
        return cpus
    }

    /// On v2 the root has no memory.swap.max; any child group with one proves the controller does swap.
    private static func swapOnV2() -> Bool {
        guard let dir = opendir("/sys/fs/cgroup") else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            if access("/sys/fs/cgroup/\(name)/memory.swap.max", F_OK) == 0 { return true }
        }
        return false
    }

    /// uname's machine → Go's GOARCH, the names Docker's profiles use.
    static let goArch: [String: String] = [
        "x86_64": "amd64", "i386": "x86", "i686": "x86", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm",
        "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64", "loongarch64": "loong64",
        "mips64": "mips64",
    ]
}

/// A small file of the host (procfs, sysfs) as text.
func readSmallFile(_ path: String) -> String? {
    let fd = cb_open(path, O_RDONLY | O_CLOEXEC, 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return readAll(fd: fd, limit: 1 << 16)
}

/// Everything readable from `fd`, at most `limit` bytes (nil beyond it or on error).
func readAll(fd: Int32, limit: Int) -> String? {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > limit { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}
