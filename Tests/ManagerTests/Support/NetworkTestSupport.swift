// What the network suites share: a berthd on its own default bridge and
// subnet (suites run in parallel, each berthd must have bridges, subnets and
// rules of its own), an image with busybox httpd, and what is left on the host
// (iptables lines, namespaces, leases) to compare before and after.
import Foundation
import Glibc
@testable import Manager

final class NetworkTestDaemon {
    typealias Result = DaemonProcessTests.Result
    let d = DaemonProcessTests.Daemon()
    let bridge: String
    /// "10.231.4" for 10.231.4.0/24; the gateway is .1.
    let prefix: String
    var subnet: String { prefix + ".0/24" }
    var gateway: String { prefix + ".1" }
    var state: String { d.state }

    /// A berthd whose default network is `bridge` on `prefix`.0/24, with nt:1
    /// (busybox with httpd, wget, nc, ip, ping; /www/index.html says "hello from nt").
    init(bridge: String, prefix: String) throws {
        guard TestImageBuilder.busyboxAvailable else { throw TestFailure("busybox-static is needed (make test installs it)") }
        guard access("/usr/lib/cni/bridge", X_OK) == 0, Subprocess.which("iptables") else {
            throw TestFailure("containernetworking-plugins and iptables are needed (make test installs them)")
        }
        self.bridge = bridge
        self.prefix = prefix
        let config = d.dir + "/berthd.json"
        try Subprocess.writeFile(config, "{\"bridge\": \"\(bridge)\", \"bip\": \"\(prefix).1/24\"}")
        try d.start(["--config", config])
        let rootfs = try TestImageBuilder.busyboxRootfs()
        defer { Subprocess.run(["rm", "-rf", rootfs]) }
        mkdir(rootfs + "/www", 0o755)
        try Subprocess.writeFile(rootfs + "/www/index.html", "hello from nt\n")
        for applet in ["sleep", "httpd", "wget", "nc", "ip", "ping", "hostname"] { symlink("busybox", rootfs + "/bin/" + applet) }
        let tarball = d.dir + "/rootfs.tar"
        guard Subprocess.run(["tar", "-C", rootfs, "-cf", tarball, "."]).status == 0 else { throw TestFailure("tar failed") }
        let r = try d.berth(["import", tarball, "nt:1"])
        guard r.status == 0 else { throw TestFailure("import failed: \(r.err)") }
    }

    func berth(_ args: [String]) throws -> Result { try d.berth(args) }

    /// `berth run -d …` → the full id (the test fails on an error).
    func runDetached(_ args: [String]) throws -> String {
        let r = try berth(["run", "-d"] + args)
        guard r.status == 0 else { throw TestFailure("run \(args) failed: \(r.err)") }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A JSON field of inspect (`{{json .X}}`), parsed.
    func inspectJSON(_ ref: String, _ path: String, network: Bool = false) throws -> Any {
        let out = try berth((network ? ["network", "inspect"] : ["inspect"]) + ["-f", "{{json \(path)}}", ref]).out
        return try JSONSerialization.jsonObject(with: Data(out.utf8), options: [.fragmentsAllowed])
    }

    func inspect(_ ref: String, _ format: String) throws -> String {
        try berth(["inspect", "-f", format, ref]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Everything this berthd made goes: containers, user networks, then
    /// berthd, its default bridge and that bridge's rules (berthd leaves the
    /// default network up when it stops, as Docker leaves docker0).
    func tearDown() {
        if let ids = try? berth(["ps", "-aq", "--no-trunc"]).out.split(separator: "\n").map(String.init), !ids.isEmpty {
            _ = try? berth(["rm", "-f"] + ids)
        }
        _ = try? berth(["network", "prune", "-f"])
        _ = try? d.stop()
        NetworkHost.deleteRules(mentioning: [bridge])
        Subprocess.run(["ip", "link", "del", bridge])
    }
}

enum NetworkHost {
    /// iptables-save's rule lines (filter and nat) that mention any of `tokens`.
    static func rules(mentioning tokens: [String]) -> [String] {
        let out = Subprocess.run(["iptables-save"]).output
        return out.split(separator: "\n").map(String.init).filter { l in
            !l.hasPrefix("#") && tokens.contains { !$0.isEmpty && l.contains($0) }
        }
    }

    /// Deletes the rules that mention a token (`-A CHAIN …` replayed as `-D`).
    static func deleteRules(mentioning tokens: [String]) {
        var table = "filter"
        for line in Subprocess.run(["iptables-save"]).output.split(separator: "\n").map(String.init) {
            if line.hasPrefix("*") { table = String(line.dropFirst()); continue }
            guard line.hasPrefix("-A "), tokens.contains(where: { line.contains($0) }), !line.contains("\"") else { continue }
            let words = line.split(separator: " ").map(String.init)
            Subprocess.run(["iptables", "-w", "-t", table, "-D"] + words.dropFirst())
        }
    }

    static func interfaceExists(_ name: String) -> Bool { access("/sys/class/net/" + name, F_OK) == 0 }

    static func entries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// host-local's lease files (addresses) under a berthd's state.
    static func leases(_ state: String) -> [String] {
        entries(state + "/networks").flatMap { net in
            entries(state + "/networks/" + net).filter { $0.first?.isNumber == true }
        }
    }

    /// GET with busybox wget from the host; nil when it fails.
    static func fetch(_ url: String) -> String? {
        // (busybox wget's own -T crashes in Debian's static build: coreutils' timeout instead.)
        let r = Subprocess.run(["timeout", "10", "/bin/busybox", "wget", "-q", "-O", "-", url])
        return r.status == 0 ? r.output : nil
    }

    /// A listening TCP socket on 0.0.0.0:port (a host process holding the port); -1 on failure.
    static func listen(port: Int) -> Int32 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0 && Glibc.listen(s, 1) == 0
        if !ok { close(s); return -1 }
        return s
    }

    /// Whether a UDP port can be bound on 0.0.0.0 (it cannot while berthd holds it).
    static func udpBindable(_ port: Int) -> Bool {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
