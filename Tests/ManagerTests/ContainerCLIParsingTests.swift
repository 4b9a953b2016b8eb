import ArgumentParser
import OCI
import RPC
import Testing
@testable import berth

/// The container commands' flag values, parsed as Docker parses them.
@Suite struct ContainerCLIParsingTests {
    // MARK: Sizes and CPUs

    @Test(arguments: [
        ("512m", Int64(512 << 20)), ("1g", 1 << 30), ("1G", 1 << 30), ("100k", 102_400), ("1024", 1024), ("64MiB", 64 << 20),
        ("2 GB", 2 << 30), ("1.5g", 1_610_612_736), ("10b", 10), ("4t", 4 << 40),
    ])
    func sizes(_ text: String, _ bytes: Int64) throws {
        #expect(try ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "m", "12x", "1.g", "-1", "1gg", "1.2.3g"])
    func badSizes(_ text: String) {
        #expect(throws: OptionError("invalid size: '\(text)'")) { try ByteSize.parse(text) }
    }

    @Test func swapAndCPUs() throws {
        #expect(try ByteSize.parseSwap("-1") == -1)
        #expect(try ByteSize.parseSwap("1g") == 1 << 30)
        #expect(try ByteSize.nanoCPUs("1.5") == 1_500_000_000)
        #expect(try ByteSize.nanoCPUs("2") == 2_000_000_000)
        #expect(try ByteSize.nanoCPUs(".25") == 250_000_000)
        #expect(try ByteSize.nanoCPUs("0.000000001") == 1)
        #expect(throws: OptionError("value is too precise")) { try ByteSize.nanoCPUs("0.0000000001") }
        #expect(throws: OptionError("failed to parse abc as a rational number")) { try ByteSize.nanoCPUs("abc") }
    }

    // MARK: Ulimits, devices, restart policies

    @Test func ulimits() throws {
        #expect(try UlimitSpec.parse("nofile=1024:2048") == BerthAPI.Ulimit(name: "nofile", soft: 1024, hard: 2048))
        #expect(try UlimitSpec.parse("nproc=512") == BerthAPI.Ulimit(name: "nproc", soft: 512, hard: 512))
        #expect(try UlimitSpec.parse("core=-1") == BerthAPI.Ulimit(name: "core", soft: -1, hard: -1))
        #expect(throws: OptionError("invalid ulimit type: nofiles")) { try UlimitSpec.parse("nofiles=1") }
        #expect(throws: OptionError("invalid ulimit argument: nofile")) { try UlimitSpec.parse("nofile") }
        #expect(throws: OptionError("invalid ulimit argument: nofile=a:b")) { try UlimitSpec.parse("nofile=a:b") }
        #expect(throws: OptionError("ulimit soft limit must be less than or equal to hard limit: 2048 > 1024")) {
            try UlimitSpec.parse("nofile=2048:1024")
        }
    }

    @Test func devices() throws {
        #expect(try DeviceSpec.parse("/dev/fuse") == BerthAPI.DeviceMapping(pathOnHost: "/dev/fuse", pathInContainer: "/dev/fuse", cgroupPermissions: "rwm"))
        #expect(try DeviceSpec.parse("/dev/sda:/dev/xvdc") == BerthAPI.DeviceMapping(pathOnHost: "/dev/sda", pathInContainer: "/dev/xvdc"))
        #expect(try DeviceSpec.parse("/dev/sda:r") == BerthAPI.DeviceMapping(pathOnHost: "/dev/sda", pathInContainer: "/dev/sda", cgroupPermissions: "r"))
        #expect(try DeviceSpec.parse("/dev/x:/dev/y:rw") == BerthAPI.DeviceMapping(pathOnHost: "/dev/x", pathInContainer: "/dev/y", cgroupPermissions: "rw"))
        #expect(throws: OptionError("invalid device mode: rwx")) { try DeviceSpec.parse("/dev/x:/dev/y:rwx") }
        #expect(throws: OptionError("invalid device specification: /a:/b:r:w")) { try DeviceSpec.parse("/a:/b:r:w") }
    }

    @Test func restartPolicies() throws {
        #expect(try RestartSpec.parse("no") == BerthAPI.RestartPolicy(name: "no"))
        #expect(try RestartSpec.parse("always") == BerthAPI.RestartPolicy(name: "always"))
        #expect(try RestartSpec.parse("unless-stopped") == BerthAPI.RestartPolicy(name: "unless-stopped"))
        #expect(try RestartSpec.parse("on-failure") == BerthAPI.RestartPolicy(name: "on-failure"))
        #expect(try RestartSpec.parse("on-failure:3") == BerthAPI.RestartPolicy(name: "on-failure", maximumRetryCount: 3))
        #expect(throws: OptionError("invalid restart policy: maximum retry count can only be used with 'on-failure'")) { try RestartSpec.parse("always:3") }
        #expect(throws: OptionError("invalid restart policy: maximum retry count cannot be negative")) { try RestartSpec.parse("on-failure:-1") }
        #expect(throws: OptionError("invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")) {
            try RestartSpec.parse("sometimes")
        }
    }

    // MARK: Ports

    static func binding(_ ip: String, _ port: String) -> BerthAPI.PortBinding { BerthAPI.PortBinding(hostIp: ip, hostPort: port) }

    @Test func publishForms() throws {
        #expect(try PortSpec.parse("80") == [.init(port: "80/tcp", binding: Self.binding("", ""))])
        #expect(try PortSpec.parse("8080:80") == [.init(port: "80/tcp", binding: Self.binding("", "8080"))])
        #expect(try PortSpec.parse("127.0.0.1:8080:80") == [.init(port: "80/tcp", binding: Self.binding("127.0.0.1", "8080"))])
        #expect(try PortSpec.parse("127.0.0.1::80") == [.init(port: "80/tcp", binding: Self.binding("127.0.0.1", ""))])
        #expect(try PortSpec.parse("8080:80/udp") == [.init(port: "80/udp", binding: Self.binding("", "8080"))])
        #expect(try PortSpec.parse("[::1]:8080:80") == [.init(port: "80/tcp", binding: Self.binding("::1", "8080"))])
        #expect(try PortSpec.parse("8000-8001:9000-9001") == [.init(port: "9000/tcp", binding: Self.binding("", "8000")),
                                                             .init(port: "9001/tcp", binding: Self.binding("", "8001"))])
        #expect(try PortSpec.parse("7000-7001") == [.init(port: "7000/tcp", binding: Self.binding("", "")),
                                                   .init(port: "7001/tcp", binding: Self.binding("", ""))])
        // A host range for one container port is a pool to choose from.
        #expect(try PortSpec.parse("8000-8010:80") == [.init(port: "80/tcp", binding: Self.binding("", "8000-8010"))])
    }

    @Test func badPublishSpecs() throws {
        #expect(throws: OptionError("invalid containerPort: http")) { try PortSpec.parse("8080:http") }
        #expect(throws: OptionError("invalid hostPort: 99999")) { try PortSpec.parse("99999:80") }
        #expect(throws: OptionError("invalid proto: xyz")) { try PortSpec.parse("80/xyz") }
        #expect(throws: OptionError("invalid IP address: 1.2.3")) { try PortSpec.parse("1.2.3:80:80") }
        #expect(throws: OptionError("invalid ranges specified for container and host Ports: 80-82 and 8000-8001")) {
            try PortSpec.parse("8000-8001:80-82")
        }
        #expect(try PortSpec.expose("7000-7002/udp") == ["7000/udp", "7001/udp", "7002/udp"])
    }

    // MARK: Environment and labels

    @Test func envFileFormat() throws {
        let text = "# comment\n\nA=1\n  B=two words \nC=\"quoted\"\nEMPTY=\nFROM_HOST\nMISSING\nD=x=y\r\n"
        let env = try EnvFile.parse(text, path: "f", lookup: { $0 == "FROM_HOST" ? "h" : nil })
        #expect(env == ["A=1", "B=two words ", "C=\"quoted\"", "EMPTY=", "FROM_HOST=h", "D=x=y"])
        #expect(throws: OptionError("variable 'A B' contains whitespaces")) { try EnvFile.parse("A B=1", path: "f") }
        #expect(throws: OptionError("no variable name on line '=1'")) { try EnvFile.parse("=1", path: "f") }
        #expect(try EnvFile.parse("a=b\nflag\n", path: "f", labels: true) == ["a=b", "flag"])
        #expect(EnvFile.labels(["a=b", "flag", "c=d=e"]) == ["a": "b", "flag": "", "c": "d=e"])
        #expect(EnvFile.resolve("X=1") == "X=1")
        #expect(EnvFile.resolve("HOME", lookup: { _ in "/root" }) == "HOME=/root")
        #expect(EnvFile.resolve("NOPE", lookup: { _ in nil }) == nil)
    }

    // MARK: Times

    @Test func relativeAndAbsoluteTimes() throws {
        let now = 1_700_000_000.0
        #expect(try TimeSpec.timestamp("10m", now: now) == "1699999400.000000000")
        #expect(try TimeSpec.timestamp("2h30m", now: now) == "1699991000.000000000")
        #expect(try TimeSpec.timestamp("1.5h", now: now) == "1699994600.000000000")
        #expect(try TimeSpec.timestamp("500ms", now: now) == "1699999999.500000000")
        #expect(try TimeSpec.timestamp("2024-01-02T03:04:05Z", now: now) == "1704164645.000000000")
        #expect(try TimeSpec.timestamp("2024-01-02T03:04:05.25Z", now: now) == "1704164645.250000000")
        #expect(try TimeSpec.timestamp("2024-01-02T03:04:05+01:00", now: now) == "1704161045.000000000")
        #expect(try TimeSpec.timestamp("2024-01-02Z", now: now) == "1704153600.000000000")
        #expect(try TimeSpec.timestamp("1700000000", now: now) == "1700000000")
        #expect(try TimeSpec.timestamp("1700000000.5", now: now) == "1700000000.5")
        #expect(try TimeSpec.timestamp("0", now: now) == "0")
        #expect(throws: OptionError.self) { try TimeSpec.timestamp("yesterday", now: now) }
        #expect(throws: OptionError.self) { try TimeSpec.timestamp("2024-13-01", now: now) }
        // Without a zone the time is local.
        #expect(TimeSpec.date("2024-01-02T03:04") != nil)
        #expect(TimeSpec.goDuration("1h2m3s") == 3723)
        #expect(TimeSpec.goDuration("-5s") == -5)
        #expect(TimeSpec.goDuration("5") == nil)
        #expect(TimeSpec.goDuration("5d") == nil)
    }

    // MARK: Volumes, mounts, tmpfs

    @Test func volumesAndMounts() throws {
        #expect(try VolumeSpec.volume("/data", cwd: "/w") == .anonymous("/data"))
        #expect(try VolumeSpec.volume("vol:/data", cwd: "/w") == .bind("vol:/data"))
        #expect(try VolumeSpec.volume("/host:/data:ro", cwd: "/w") == .bind("/host:/data:ro"))
        #expect(try VolumeSpec.volume("./dir:/data", cwd: "/w/x") == .bind("/w/x/dir:/data"))
        #expect(throws: OptionError("invalid volume specification: 'data'")) { try VolumeSpec.volume("data", cwd: "/") }
        #expect(throws: OptionError("invalid mode: rx")) { try VolumeSpec.volume("/a:/b:rx", cwd: "/") }
        #expect(try VolumeSpec.mount("type=bind,source=/a,target=/b,readonly,bind-propagation=rshared", cwd: "/")
                == .mount(.init(type: "bind", source: "/a", target: "/b", readOnly: true, bindOptions: .init(propagation: "rshared"))))
        #expect(try VolumeSpec.mount("type=volume,src=v,dst=/b,volume-nocopy,volume-opt=type=tmpfs,volume-label=a=b", cwd: "/")
                == .mount(.init(type: "volume", source: "v", target: "/b",
                                volumeOptions: .init(noCopy: true, labels: ["a": "b"], driverConfig: .init(options: ["type": "tmpfs"])))))
        #expect(try VolumeSpec.mount("target=/b", cwd: "/") == .mount(.init(type: "volume", target: "/b")))
        #expect(try VolumeSpec.mount("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770", cwd: "/")
                == .mount(.init(type: "tmpfs", target: "/t", tmpfsOptions: .init(sizeBytes: 67108864, mode: 0o1770))))
        #expect(throws: OptionError("target is required")) { try VolumeSpec.mount("type=bind,source=/a", cwd: "/") }
        #expect(throws: OptionError("cannot mix 'volume-*' options with mount type 'bind'")) {
            try VolumeSpec.mount("type=bind,source=/a,target=/b,volume-nocopy", cwd: "/")
        }
        #expect(throws: OptionError("unexpected key 'sauce' in 'sauce=/a'")) { try VolumeSpec.mount("sauce=/a,target=/b", cwd: "/") }
        #expect(try VolumeSpec.tmpfs("/run:rw,size=64m") == ("/run", "rw,size=64m"))
    }

    // MARK: Detach keys

    @Test func detachKeys() throws {
        #expect(DetachKeys.default.bytes == [16, 17])
        #expect(try DetachKeys("ctrl-a,x,ctrl-@,ctrl-[,ctrl-_,DEL").bytes == [1, UInt8(ascii: "x"), 0, 27, 31, 127])
        #expect(throws: OptionError("Unknown character: 'ctrl-1'")) { try DetachKeys("ctrl-1") }
        #expect(throws: OptionError("Unknown character: 'ab'")) { try DetachKeys("ab") }
    }

    @Test func detachMatcherForwardsPartialMatches() {
        var m = DetachKeys.Matcher(DetachKeys.default)
        #expect(m.feed([0x61, 0x10]).forward == [0x61] && !m.feed([]).detach)  // Ctrl-P held back
        #expect(m.feed([0x62]) == ([0x10, 0x62], false))                       // not followed by Ctrl-Q: both go
        #expect(m.feed([0x10]) == ([], false))
        #expect(m.feed([0x10]) == ([0x10], false))                             // Ctrl-P Ctrl-P: the first goes, the second waits
        #expect(m.feed([0x11, 0x63]) == ([], true))                            // Ctrl-Q completes it; the rest is dropped
        var n = DetachKeys.Matcher(DetachKeys.default)
        #expect(n.feed([0x68, 0x69, 0x10, 0x11]) == ([0x68, 0x69], true))       // in one read, as a pty delivers a paste
    }

    @Test func utf8SplitAcrossReads() {
        var c = UTF8Carry()
        let e = Array("é€".utf8)  // 2 + 3 bytes
        #expect(c.take([e[0]]) == "")
        #expect(c.take([e[1], e[2]]) == "é")
        #expect(c.take([e[3], e[4]]) == "€")
        #expect(c.take([0x41]) == "A")
    }

    // MARK: run/create flags into the create request

    static func parse(_ args: [String]) throws -> CreateOptions {
        try CreateOptions.parse(args)
    }

    @Test func runFlagsBecomeConfigAndHostConfig() throws {
        let o = try Self.parse(["-i", "-t", "--name", "web", "-e", "A=1", "-w", "/srv", "-u", "1000:1000", "--hostname", "h",
                                "--read-only", "--tmpfs", "/run:size=1m", "-l", "k=v", "--stop-signal", "SIGINT", "--stop-timeout", "3",
                                "--restart", "on-failure:2", "--pid", "host", "--ipc", "private", "--uts", "host", "--privileged",
                                "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                                "-m", "64m", "--memory-swap", "-1", "--memory-reservation", "32m", "--cpus", "1.5", "-c", "512",
                                "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--pids-limit", "100", "--device", "/dev/fuse",
                                "--ulimit", "nofile=10:20", "--init", "--oom-score-adj", "-500", "-p", "127.0.0.1:8080:80",
                                "-P", "--network", "none", "-v", "/h:/c:ro", "--mount", "type=tmpfs,dst=/t", "--link", "db:db",
                                "--add-host", "a:10.0.0.1", "--dns", "8.8.8.8", "--dns-search", "example.com",
                                "--volumes-from", "other", "--log-opt", "max-size=10m", "--log-opt", "max-file=3",
                                "--entrypoint", "/bin/sh", "busybox", "-c", "echo hi", "-l"])
        let p = try o.params(attached: true, cwd: "/")
        #expect(p.name == "web" && p.image == "busybox")
        let c = p.config, h = p.hostConfig
        #expect(c.cmd == ["-c", "echo hi", "-l"], "everything after the image is the command")
        #expect(c.entrypoint == ["/bin/sh"])
        #expect(c.tty == true && c.openStdin == true && c.attachStdin == true && c.stdinOnce == true)
        #expect(c.env == ["A=1"] && c.workingDir == "/srv" && c.user == "1000:1000" && c.hostname == "h")
        #expect(c.labels == ["k": "v"] && c.stopSignal == "SIGINT" && c.stopTimeout == 3)
        #expect(c.exposedPorts == ["80/tcp": .init()])
        #expect(h.readonlyRootfs == true && h.tmpfs == ["/run": "size=1m"] && h.mounts == [.init(type: "tmpfs", target: "/t")])
        #expect(h.restartPolicy == BerthAPI.RestartPolicy(name: "on-failure", maximumRetryCount: 2))
        #expect(h.pidMode == "host" && h.ipcMode == "private" && h.utsMode == "host" && h.privileged == true)
        #expect(h.capAdd == ["NET_ADMIN"] && h.capDrop == ["ALL"] && h.securityOpt == ["no-new-privileges"])
        #expect(h.memory == 64 << 20 && h.memorySwap == -1 && h.memoryReservation == 32 << 20)
        #expect(h.nanoCpus == 1_500_000_000 && h.cpuShares == 512 && h.cpusetCpus == "0-1" && h.cpusetMems == "0" && h.pidsLimit == 100)
        #expect(h.devices == [BerthAPI.DeviceMapping(pathOnHost: "/dev/fuse", pathInContainer: "/dev/fuse")])
        #expect(h.ulimits == [BerthAPI.Ulimit(name: "nofile", soft: 10, hard: 20)])
        #expect(h.`init` == true && h.oomScoreAdj == -500)
        #expect(h.portBindings == ["80/tcp": [Self.binding("127.0.0.1", "8080")]] && h.publishAllPorts == true)
        #expect(h.networkMode == "none" && h.binds == ["/h:/c:ro"] && h.links == ["db:db"])
        #expect(h.extraHosts == ["a:10.0.0.1"] && h.dns == ["8.8.8.8"] && h.dnsSearch == ["example.com"] && h.volumesFrom == ["other"])
        #expect(h.logConfig == BerthAPI.LogConfig(type: "json-file", config: ["max-size": "10m", "max-file": "3"]))
    }

    @Test func runFlagConflictsAndErrors() throws {
        #expect(throws: OptionError("Conflicting options: --restart and --rm")) {
            try Self.parse(["--rm", "--restart", "always", "busybox"]).params(attached: true, cwd: "/")
        }
        #expect(throws: OptionError("invalid argument \"12x\" for \"-m, --memory\" flag: invalid size: '12x'")) {
            try Self.parse(["-m", "12x", "busybox"]).params(attached: true, cwd: "/")
        }
        #expect(throws: OptionError("the working directory 'srv' is invalid, it needs to be an absolute path")) {
            try Self.parse(["-w", "srv", "busybox"]).params(attached: true, cwd: "/")
        }
        #expect(throws: OptionError("--pid: invalid PID mode")) { try Self.parse(["--pid", "bogus", "busybox"]).params(attached: true, cwd: "/") }
        #expect(throws: OptionError("invalid argument \"x\" for \"--dns\" flag: x is not an ip address")) {
            try Self.parse(["--dns", "x", "busybox"]).params(attached: true, cwd: "/")
        }
        #expect(throws: OptionError("Invalid --security-opt: \"bogus\"")) {
            try Self.parse(["--security-opt", "bogus", "busybox"]).params(attached: true, cwd: "/")
        }
        // --entrypoint "" clears the image's entrypoint, as Docker sends it.
        #expect(try Self.parse(["--entrypoint", "", "busybox"]).params(attached: false, cwd: "/").config.entrypoint == [""])
        // Detached: nothing is attached.
        let d = try Self.parse(["-i", "busybox"]).params(attached: false, cwd: "/")
        #expect(d.config.attachStdin == false && d.config.attachStdout == false && d.config.openStdin == true && d.config.stdinOnce == false)
    }

    @Test func seccompProfileIsReadFromTheFile() throws {
        let dir = Subprocess.tempDir("seccomp")
        try Subprocess.writeFile(dir + "/p.json", #"{"defaultAction":"SCMP_ACT_ALLOW"}"#)
        let p = try Self.parse(["--security-opt", "seccomp=\(dir)/p.json", "busybox"]).params(attached: false, cwd: "/")
        #expect(p.hostConfig.seccompProfile == #"{"defaultAction":"SCMP_ACT_ALLOW"}"#)
        #expect(p.hostConfig.securityOpt == ["seccomp=\(dir)/p.json"])
        #expect(throws: OptionError("opening seccomp profile (/nope.json) failed: No such file or directory")) {
            try Self.parse(["--security-opt", "seccomp=/nope.json", "busybox"]).params(attached: false, cwd: "/")
        }
        let u = try Self.parse(["--security-opt", "seccomp=unconfined", "busybox"]).params(attached: false, cwd: "/")
        #expect(u.hostConfig.seccompProfile == nil)
    }

    @Test func envFileAndLabelFileComeBeforeFlags() throws {
        let dir = Subprocess.tempDir("envfile")
        try Subprocess.writeFile(dir + "/env", "A=from-file\nB=2\n")
        try Subprocess.writeFile(dir + "/labels", "l1=x\nl2\n")
        let p = try Self.parse(["--env-file", dir + "/env", "-e", "A=flag", "--label-file", dir + "/labels", "-l", "l1=y", "busybox"])
            .params(attached: false, cwd: "/")
        #expect(p.config.env == ["A=from-file", "B=2", "A=flag"])
        #expect(p.config.labels == ["l1": "y", "l2": ""])
    }

    // MARK: The command line as Docker users type it

    @Test func globalOptionsAfterRunMoveToTheFront() {
        #expect(ArgumentRewriter.rewrite(["run", "-H", "unix:///s", "-d", "--name", "x", "busybox", "sh", "-H", "y"])
                == ["-H", "unix:///s", "run", "-d", "--name", "x", "busybox", "sh", "-H", "y"])
        #expect(ArgumentRewriter.rewrite(["container", "run", "--debug", "-it", "busybox", "--debug"])
                == ["--debug", "container", "run", "-it", "busybox", "--debug"])
        #expect(ArgumentRewriter.rewrite(["run", "-e", "-H", "busybox"]) == ["run", "-e", "-H", "busybox"], "-H as the value of -e")
        #expect(ArgumentRewriter.rewrite(["exec", "--help"]) == ["help", "exec"])
        #expect(ArgumentRewriter.rewrite(["run", "--sig-proxy=false", "--rm=true", "--init=false", "busybox"])
                == ["run", "--no-sig-proxy", "--rm", "busybox"])
        #expect(ArgumentRewriter.rewrite(["ps", "-a"]) == ["ps", "-a"])
        #expect(ArgumentRewriter.takesValue("-it") == false && ArgumentRewriter.takesValue("-ie") == true && ArgumentRewriter.takesValue("--rm") == false)
    }

    @Test func cpArguments() {
        #expect(CpCommand.split("web:/etc/hosts") == ("web", "/etc/hosts"))
        #expect(CpCommand.split("/tmp/a:b") == (nil, "/tmp/a:b"))
        #expect(CpCommand.split("./a:b") == (nil, "./a:b"))
        #expect(CpCommand.split("file") == (nil, "file"))
        #expect(CpCommand.dirname("/a/b/") == "/a" && CpCommand.dirname("/a") == "/" && CpCommand.dirname("a") == ".")
        #expect(CpCommand.basename("/a/b/") == "b" && CpCommand.basename("/") == "/")
    }

    @Test func runStatusFromTheStartError() {
        #expect(ContainerCLI.runStatus("exec: \"nope\": executable file not found in $PATH") == 127)
        #expect(ContainerCLI.runStatus("exec /x: no such file or directory") == 127)
        #expect(ContainerCLI.runStatus("exec /etc/passwd: permission denied") == 126)
        #expect(ContainerCLI.runStatus("No such image: busybox:latest") == 125)
        #expect(ContainerCLI.execStatus("Conflict") == 1)
    }
}
