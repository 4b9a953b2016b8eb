import Glibc
import OCI

/// Runs a program to its end: the plugin's path, its environment and its stdin;
/// its exit status, stdout and stderr. berthd passes its HostCommand (it never
/// forks from Swift); tests may pass anything that really runs the program.
public typealias ProgramRunner = @Sendable (_ path: String, _ environment: [String], _ stdin: [UInt8]) throws
    -> (status: Int32, stdout: [UInt8], stderr: String)

/// A failed plugin call, as one line: the plugin's `msg` and `details`.
public struct CNIError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Invokes CNI plugins (the CNI spec's "Execution protocol"): the command and
/// the container in CNI_* variables, the network configuration on stdin, the
/// result (or an error object) on stdout.
public struct CNI: Sendable {
    /// Directories searched for plugins (CNI_PATH), first match wins.
    public var pluginPath: [String]
    let runner: ProgramRunner

    public init(pluginPath: [String] = ["/usr/lib/cni", "/opt/cni/bin"], runner: @escaping ProgramRunner) {
        self.pluginPath = pluginPath
        self.runner = runner
    }

    public enum Command: String, Sendable { case add = "ADD", del = "DEL", check = "CHECK" }

    /// The container a call is about.
    public struct Attachment: Sendable {
        public var containerID: String
        public var netns: String
        public var ifname: String
        /// CNI_ARGS ("IgnoreUnknown=1;IP=172.18.0.9").
        public var args: String?
        public init(containerID: String, netns: String, ifname: String, args: String? = nil) {
            self.containerID = containerID; self.netns = netns; self.ifname = ifname; self.args = args
        }
    }

    /// One plugin: `config` is the plugin's object of a conflist with the
    /// list's `name` and `cniVersion` added (and `prevResult` for chained
    /// plugins); the result for ADD, nil for DEL and CHECK.
    @discardableResult
    public func invoke(_ command: Command, _ config: JSONValue, _ a: Attachment) throws(CNIError) -> JSONValue? {
        guard let type = config["type"]?.stringValue else { throw CNIError("network configuration without a plugin type") }
        guard let plugin = pluginPath.map({ $0 + "/" + type }).first(where: Self.isExecutable) else {
            throw CNIError("failed to find plugin \"\(type)\" in path \(pluginPath)")
        }
        var env = ["CNI_COMMAND=\(command.rawValue)", "CNI_CONTAINERID=\(a.containerID)", "CNI_NETNS=\(a.netns)",
                   "CNI_IFNAME=\(a.ifname)", "CNI_PATH=\(pluginPath.joined(separator: ":"))",
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        if let args = a.args { env.append("CNI_ARGS=\(args)") }
        let out: (status: Int32, stdout: [UInt8], stderr: String)
        do { out = try runner(plugin, env, Array(JSONWriter.write(config).utf8)) } catch {
            throw CNIError("plugin \(type): \(error)")
        }
        let parsed = try? JSONParser.parse(out.stdout)
        guard out.status == 0 else { throw CNIError(Self.errorLine(type: type, command, parsed, stderr: out.stderr, status: out.status)) }
        return command == .add ? parsed : nil
    }

    /// The spec's error object `{"code", "msg", "details"}` as one line.
    static func errorLine(type: String, _ command: Command, _ v: JSONValue?, stderr: String, status: Int32) -> String {
        var text = v?["msg"]?.stringValue ?? ""
        if let d = v?["details"]?.stringValue, !d.isEmpty { text += text.isEmpty ? d : ": " + d }
        if text.isEmpty { text = stderr.split(separator: "\n").last.map(String.init) ?? "exit status \(status)" }
        let line = text.split(whereSeparator: { $0 == "\n" }).joined(separator: " ")
        return "plugin type=\"\(type)\" failed (\(command.rawValue.lowercased())): \(line)"
    }

    static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }
}
