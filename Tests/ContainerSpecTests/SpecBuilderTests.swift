import ContainerSpec
import Foundation
import OCI
import RPC
import Testing

let testID = String(repeating: "0123456789abcdef", count: 4)
let testHost = HostInfo(lastCap: 40, arch: "amd64", kernelMajor: 6, kernelMinor: 1, cpuCount: 4, swapLimit: true, hostname: "thehost")

/// A builder over a rootfs with passwd and group, and a fixed host.
struct Fixture {
    let dir: TempDir
    var config = BerthAPI.ContainerConfig()
    var hostConfig = BerthAPI.HostConfig()
    var host = testHost
    var initPath: String?
    var namespacePaths: [SpecBuilder.NamespaceKind: String] = [:]

    init() throws {
        dir = try TempDir("builder")
        try dir.write("etc/passwd", samplePasswd)
        try dir.write("etc/group", sampleGroup)
        config.cmd = ["/bin/sh", "-c", "true"]
    }

    func build() throws -> SpecBuilder.Output {
        try SpecBuilder(host: host).build(.init(id: testID, config: config, hostConfig: hostConfig, rootfs: dir.path,
                                                initPath: initPath, namespacePaths: namespacePaths))
    }

    func spec() throws -> RuntimeConfig { try build().spec }
}

@Suite struct SpecBuilderTests {
    @Test func defaults() throws {
        var f = try Fixture()
        f.config.env = ["FOO=bar", "PATH=/custom"]
        let out = try f.build()
        let s = out.spec
        #expect(out.warnings.isEmpty)
        #expect(s.process.args == ["/bin/sh", "-c", "true"])
        #expect(s.process.env == ["PATH=/custom", "HOSTNAME=0123456789ab", "FOO=bar", "HOME=/root"])
        #expect(s.process.cwd == "/")
        #expect(s.process.terminal == nil)
        #expect(s.process.user == .init(uid: 0, gid: 0, additionalGids: [0]))
        #expect(s.process.capabilities?.bounding == CapabilitySet.defaults)
        #expect(s.process.capabilities?.effective == CapabilitySet.defaults)
        #expect(s.hostname == "0123456789ab")
        #expect(s.root == .init(path: f.dir.path, readonly: nil))
        #expect(s.linux.cgroupsPath == "/berth/" + testID)
        #expect(s.linux.namespaces.map(\.type) == ["mount", "network", "uts", "pid", "ipc", "cgroup"])
        #expect(s.linux.namespaces.allSatisfy { $0.path == nil })
        #expect(s.mounts.map(\.destination) == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"])
        #expect(s.mounts.last?.options == ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])
        #expect(s.linux.maskedPaths?.contains("/proc/kcore") == true)
        #expect(s.linux.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        #expect(s.linux.seccomp?.defaultAction == "SCMP_ACT_ERRNO")
        #expect(s.linux.sysctl?["net.ipv4.ip_unprivileged_port_start"] == "0")
        #expect(s.linux.resources.devices.first == .init(allow: false))
        #expect(s.linux.resources.memory == nil && s.linux.resources.cpu == nil && s.linux.resources.pids == nil)
        #expect(s.process.noNewPrivileges == nil)
    }

    /// What the builder writes is what the runtime reads: decoded by OCI's own Spec model.
    @Test func jsonDecodesAsTheRuntimesSpec() throws {
        var f = try Fixture()
        f.hostConfig.memory = 64 << 20
        f.hostConfig.ulimits = [.init(name: "nofile", soft: 1024, hard: 2048)]
        f.hostConfig.devices = [.init(pathOnHost: "/dev/null", pathInContainer: "/dev/mynull")]
        let bytes = try f.build().json()
        let spec = try JSONValueDecoder().decode(Spec.self, from: bytes)
        #expect(spec.process?.args == ["/bin/sh", "-c", "true"])
        #expect(spec.linux?.resources?.memory?.limit == 64 << 20)
        #expect(spec.linux?.resources?.memory?.swap == 128 << 20)
        #expect(spec.linux?.seccomp?.syscalls?.isEmpty == false)
        #expect(spec.linux?.devices?.first?.path == "/dev/mynull")
        #expect(spec.process?.rlimits?.first?.type == "RLIMIT_NOFILE")
    }

    @Test func noCommand() throws {
        var f = try Fixture()
        f.config.cmd = nil
        #expect(throws: ContainerSpecError(.noCommand, "no command specified")) { try f.build() }
    }

    @Test func ttyUserAndWorkdir() throws {
        var f = try Fixture()
        f.config.tty = true
        f.config.user = "app"
        f.config.workingDir = "/work"
        f.config.hostname = "web"
        let s = try f.spec()
        #expect(s.process.terminal == true)
        #expect(s.process.env == ["PATH=" + SpecBuilder.defaultPath, "HOSTNAME=web", "TERM=xterm", "HOME=/home/app"])
        #expect(s.process.user == .init(uid: 1000, gid: 1000, additionalGids: [1000, 10, 29]))
        #expect(s.process.cwd == "/work")
        #expect(s.hostname == "web")
        f.config.user = "ghost"
        #expect(throws: ContainerSpecError(.unknownUser, "unable to find user ghost: no matching entries in passwd file")) { try f.build() }
        f.config.user = nil
        f.config.workingDir = "relative"
        #expect(throws: ContainerSpecError.self) { try f.build() }
    }

    @Test func initMountAndArgs() throws {
        var f = try Fixture()
        f.hostConfig.`init` = true
        #expect(throws: ContainerSpecError.self) { try f.build() }
        f.initPath = "/usr/libexec/berth-init"
        let s = try f.spec()
        #expect(s.process.args == ["/sbin/berth-init", "--", "/bin/sh", "-c", "true"])
        #expect(s.mounts.last == .init(destination: "/sbin/berth-init", type: "bind", source: "/usr/libexec/berth-init", options: ["bind", "ro"]))
    }

    @Test func tmpfs() throws {
        var f = try Fixture()
        f.hostConfig.tmpfs = ["/run": "size=64m,mode=1777,exec", "/dev/shm": "size=1g", "/run/lock": ""]
        let s = try f.spec()
        let run = try #require(s.mounts.first { $0.destination == "/run" })
        #expect(run.type == "tmpfs" && run.source == "tmpfs")
        #expect(run.options == ["exec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"])
        #expect(s.mounts.first { $0.destination == "/run/lock" }?.options == ["noexec", "nosuid", "nodev", "rprivate"])
        // The user's /dev/shm replaces the default one.
        let shm = s.mounts.filter { $0.destination == "/dev/shm" }
        #expect(shm.count == 1 && shm[0].options?.contains("size=1g") == true)
        // Parents first.
        let order = s.mounts.map(\.destination)
        #expect(order.firstIndex(of: "/run")! < order.firstIndex(of: "/run/lock")!)
        f.hostConfig.tmpfs = ["relative": ""]
        #expect(throws: ContainerSpecError.self) { try f.build() }
    }

    @Test func ulimits() throws {
        var f = try Fixture()
        f.hostConfig.ulimits = [.init(name: "nofile", soft: 1024, hard: 2048), .init(name: "core", soft: -1, hard: -1)]
        let s = try f.spec()
        #expect(s.process.rlimits == [.init(type: "RLIMIT_NOFILE", hard: 2048, soft: 1024),
                                      .init(type: "RLIMIT_CORE", hard: UInt64.max, soft: UInt64.max)])
        f.hostConfig.ulimits = [.init(name: "nofiles", soft: 1, hard: 1)]
        #expect(throws: ContainerSpecError(.invalidUlimit, "invalid ulimit type: nofiles")) { try f.build() }
        f.hostConfig.ulimits = [.init(name: "nproc", soft: 10, hard: 5)]
        #expect(throws: ContainerSpecError.self) { try f.build() }
    }

    @Test func devices() throws {
        var f = try Fixture()
        f.hostConfig.devices = [.init(pathOnHost: "/dev/null", pathInContainer: "/dev/xnull", cgroupPermissions: "rw"),
                                .init(pathOnHost: "/dev/zero", pathInContainer: "")]
        let s = try f.spec()
        #expect(s.linux.devices?.count == 2)
        let null = try #require(s.linux.devices?.first)
        #expect(null.type == "c" && null.path == "/dev/xnull" && null.major == 1 && null.minor == 3)
        #expect(null.fileMode == 0o666 && null.uid == 0 && null.gid == 0)
        #expect(s.linux.devices?.last?.path == "/dev/zero")
        #expect(s.linux.resources.devices.suffix(2) == [.init(allow: true, type: "c", major: 1, minor: 3, access: "rw"),
                                                         .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm")])
        f.hostConfig.devices = [.init(pathOnHost: "/dev/does-not-exist", pathInContainer: "")]
        #expect(throws: ContainerSpecError(.invalidDevice,
            "error gathering device information while adding custom device \"/dev/does-not-exist\": No such file or directory")) { try f.build() }
        f.hostConfig.devices = [.init(pathOnHost: "/etc/passwd", pathInContainer: "")]
        #expect(throws: ContainerSpecError.self) { try f.build() }
        f.hostConfig.devices = [.init(pathOnHost: "/dev/null", pathInContainer: "", cgroupPermissions: "rwx")]
        #expect(throws: ContainerSpecError(.invalidDevice, "invalid device mode: rwx")) { try f.build() }
    }

    @Test func memory() throws {
        var f = try Fixture()
        f.hostConfig.memory = 64 << 20
        f.hostConfig.memoryReservation = 32 << 20
        #expect(try f.spec().linux.resources.memory == .init(limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20))
        f.hostConfig.memorySwap = -1
        #expect(try f.spec().linux.resources.memory?.swap == -1)
        f.hostConfig.memorySwap = 100 << 20
        #expect(try f.spec().linux.resources.memory?.swap == 100 << 20)
        f.hostConfig.memorySwap = 10 << 20
        #expect(throws: ContainerSpecError.self) { try f.build() }
        f.hostConfig.memorySwap = 0
        f.host.swapLimit = false
        let out = try f.build()
        #expect(out.spec.linux.resources.memory?.swap == nil)
        #expect(out.warnings.count == 1)
        f.hostConfig.memory = 1 << 20
        #expect(throws: ContainerSpecError(.invalidResources, "Minimum memory limit allowed is 6MB")) { try f.build() }
    }

    @Test func cpu() throws {
        var f = try Fixture()
        f.hostConfig.nanoCpus = 1_500_000_000
        f.hostConfig.cpuShares = 512
        f.hostConfig.cpusetCpus = "0-1"
        f.hostConfig.cpusetMems = "0"
        var cpu = RuntimeConfig.CPU()
        cpu.shares = 512; cpu.quota = 150_000; cpu.period = 100_000; cpu.cpus = "0-1"; cpu.mems = "0"
        #expect(try f.spec().linux.resources.cpu == cpu)
        f.hostConfig.cpuQuota = 50_000
        #expect(throws: ContainerSpecError(.invalidResources, "Conflicting options: Nano CPUs and CPU Quota cannot both be set")) { try f.build() }
        f.hostConfig.nanoCpus = nil
        f.hostConfig.cpuPeriod = 200_000
        let c = try f.spec().linux.resources.cpu
        #expect(c?.quota == 50_000 && c?.period == 200_000)
        f.hostConfig.nanoCpus = 8_000_000_000
        f.hostConfig.cpuQuota = nil
        f.hostConfig.cpuPeriod = nil
        #expect(throws: ContainerSpecError.self) { try f.build() }
        f.hostConfig.nanoCpus = nil
        f.hostConfig.cpusetCpus = "0-"
        #expect(throws: ContainerSpecError.self) { try f.build() }
    }

    @Test func pids() throws {
        var f = try Fixture()
        f.hostConfig.pidsLimit = 100
        #expect(try f.spec().linux.resources.pids == .init(limit: 100))
        f.hostConfig.pidsLimit = -1
        #expect(try f.spec().linux.resources.pids == nil)
        f.hostConfig.pidsLimit = 0
        #expect(try f.spec().linux.resources.pids == nil)
    }

    @Test func namespaceModes() throws {
        var f = try Fixture()
        f.hostConfig.networkMode = "host"
        f.hostConfig.pidMode = "host"
        f.hostConfig.ipcMode = "host"
        f.hostConfig.utsMode = "host"
        var s = try f.spec()
        #expect(s.linux.namespaces.map(\.type) == ["mount", "cgroup"])
        #expect(s.hostname == nil)
        #expect(s.linux.sysctl == nil)
        #expect(s.process.env.contains("HOSTNAME=thehost"))
        #expect(s.mounts.first { $0.destination == "/dev/shm" }?.source == "/dev/shm")
        f.config.hostname = "x"
        #expect(throws: ContainerSpecError.self) { try f.build() }
        f.config.hostname = nil

        f.hostConfig = .init()
        f.hostConfig.networkMode = "container:db"
        f.hostConfig.pidMode = "container:db"
        f.hostConfig.ipcMode = "container:db"
        #expect(throws: ContainerSpecError.self) { try f.build() }
        f.namespacePaths = [.network: "/proc/42/ns/net", .pid: "/proc/42/ns/pid", .ipc: "/proc/42/ns/ipc"]
        s = try f.spec()
        #expect(s.linux.namespaces == [.init(type: "mount"), .init(type: "network", path: "/proc/42/ns/net"), .init(type: "uts"),
                                       .init(type: "pid", path: "/proc/42/ns/pid"), .init(type: "ipc", path: "/proc/42/ns/ipc"),
                                       .init(type: "cgroup")])
        #expect(s.mounts.first { $0.destination == "/dev/shm" }?.source == "/proc/42/root/dev/shm")
        #expect(s.linux.sysctl == nil)

        f.hostConfig = .init()
        f.hostConfig.networkMode = "none"
        f.hostConfig.ipcMode = "none"
        s = try f.spec()
        #expect(s.linux.namespaces.map(\.type) == ["mount", "network", "uts", "pid", "ipc", "cgroup"])
        #expect(!s.mounts.contains { $0.destination == "/dev/shm" })
        f.hostConfig.pidMode = "bogus"
        #expect(throws: ContainerSpecError(.invalidNamespaceMode, "invalid pid mode: bogus")) { try f.build() }
    }

    @Test func privileged() throws {
        var f = try Fixture()
        f.hostConfig.privileged = true
        f.hostConfig.capDrop = ["ALL"]
        let s = try f.spec()
        #expect(s.process.capabilities?.bounding.count == 41)
        #expect(s.linux.seccomp == nil)
        #expect(s.linux.maskedPaths == nil && s.linux.readonlyPaths == nil)
        #expect(s.linux.resources.devices == [.init(allow: true)])
        #expect(s.linux.devices?.contains { $0.path == "/dev/null" } == true)
        #expect(s.mounts.first { $0.destination == "/sys" }?.options?.contains("ro") == false)
        #expect(s.mounts.first { $0.destination == "/sys/fs/cgroup" }?.options?.contains("ro") == false)
    }

    @Test func capabilitiesAndSeccompFollowEachOther() throws {
        var f = try Fixture()
        f.hostConfig.capAdd = ["SYS_ADMIN"]
        f.hostConfig.capDrop = ["NET_RAW"]
        let s = try f.spec()
        #expect(s.process.capabilities?.bounding.contains("CAP_SYS_ADMIN") == true)
        #expect(s.process.capabilities?.bounding.contains("CAP_NET_RAW") == false)
        #expect(s.linux.seccomp?.syscalls.contains { $0.names.contains("mount") } == true)
        f.hostConfig.capAdd = ["flying"]
        #expect(throws: ContainerSpecError(.invalidCapability, "invalid capability: flying")) { try f.build() }
    }

    @Test func readonlyRootfs() throws {
        var f = try Fixture()
        f.hostConfig.readonlyRootfs = true
        let s = try f.spec()
        #expect(s.root.readonly == true)
        #expect(s.mounts.first { $0.destination == "/sys/fs/cgroup" }?.options?.contains("ro") == true)
        #expect(s.mounts.first { $0.destination == "/dev/shm" }?.options?.contains("ro") == false)
    }

    @Test func securityOptions() throws {
        var f = try Fixture()
        f.hostConfig.securityOpt = ["no-new-privileges", "seccomp=unconfined"]
        var s = try f.spec()
        #expect(s.process.noNewPrivileges == true)
        #expect(s.linux.seccomp == nil)
        f.hostConfig.securityOpt = ["no-new-privileges:true", "systempaths=unconfined"]
        s = try f.spec()
        #expect(s.process.noNewPrivileges == true && s.linux.maskedPaths == nil && s.linux.seccomp != nil)
        f.hostConfig.securityOpt = ["seccomp=/etc/profile.json"]
        f.hostConfig.seccompProfile = #"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#
        s = try f.spec()
        #expect(s.linux.seccomp?.defaultAction == "SCMP_ACT_ALLOW")
        #expect(s.linux.seccomp?.syscalls.map(\.names) == [["mkdir"]])
        f.hostConfig.seccompProfile = nil
        f.hostConfig.securityOpt = ["whatever=1"]
        #expect(throws: ContainerSpecError(.invalidSecurityOpt, "invalid --security-opt: whatever=1")) { try f.build() }
    }

    @Test func oomScoreAdj() throws {
        var f = try Fixture()
        f.hostConfig.oomScoreAdj = 500
        #expect(try f.spec().process.oomScoreAdj == 500)
        f.hostConfig.oomScoreAdj = 1001
        #expect(throws: ContainerSpecError.self) { try f.build() }
    }

    @Test func environmentUnsetAndReplace() {
        let env = SpecBuilder.environment(["HOSTNAME=mine", "PATH", "A=1"], hostname: "h", tty: false)
        #expect(env == ["HOSTNAME=mine", "A=1"])
    }
}
