/// A legacy `--link NAME[:ALIAS]` (Docker's daemon/links): a hosts entry in
/// the linking container and, for the default bridge, environment variables
/// describing the linked container's address, ports and environment.
public struct Link: Equatable, Sendable {
    /// The linked container's name (or id) as given.
    public var name: String
    /// The name it is known by in the linking container; the name by default.
    public var alias: String

    public init(name: String, alias: String) {
        self.name = name
        self.alias = alias
    }

    /// Parses `NAME[:ALIAS]` as docker's ParseLink: the alias defaults to the
    /// name, and the stored form `/NAME:/ME/ALIAS` gives NAME and ALIAS.
    /// Errors as docker's: `invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c`.
    public init(parsing value: String) throws(ContainerFilesError) {
        func bad(_ why: String) -> ContainerFilesError {
            ContainerFilesError("invalid argument \"\(value)\" for \"--link\" flag: \(why)")
        }
        guard !value.isEmpty else { throw bad("empty string specified for links") }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw bad("bad format for links: \(value)") }
        if parts.count == 1 {
            name = value; alias = value
        } else if parts[0].hasPrefix("/") {
            name = String(parts[0].dropFirst())
            alias = String(parts[1].split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        } else {
            name = parts[0]; alias = parts[1]
        }
    }

    /// The linking container's hosts entry for the linked one:
    /// `IP\tALIAS HOSTNAME [NAME]`: the alias, the linked container's hostname
    /// (its short id by default), and its name when that differs from the
    /// alias, in Docker's order.
    public func hostsEntry(linkedName: String, linkedHostname: String, linkedAddress: String) -> HostsEntry {
        var names = alias + " " + linkedHostname
        if alias != linkedName { names += " " + linkedName }
        return HostsEntry(address: linkedAddress, names: names)
    }

    /// A port the linked container exposes ("80/tcp").
    public struct Port: Hashable, Sendable {
        public var number: UInt16
        public var proto: String

        public init(_ number: UInt16, _ proto: String = "tcp") {
            self.number = number
            self.proto = proto.lowercased()
        }

        /// "80", "80/tcp", "53/udp"; nil for anything else.
        public init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let n = UInt16(parts[0]) else { return nil }
            self.init(n, parts.count == 2 ? String(parts[1]) : "tcp")
        }
    }

    /// Docker's link environment for the container linking as `/ME/ALIAS`:
    ///
    /// - `ALIAS_NAME=/ME/ALIAS`;
    /// - per exposed port `ALIAS_PORT_80_TCP=tcp://IP:80`, with `_ADDR`,
    ///   `_PORT` and `_PROTO`;
    /// - `ALIAS_PORT=` the first port's URL, ports ordered TCP first, then by
    ///   protocol, then by number;
    /// - for consecutive ports of one protocol, `ALIAS_PORT_<first>_TCP_START`,
    ///   `_PORT_START`, `_END` and `_PORT_END`;
    /// - `ALIAS_ENV_X=v` for each `X=v` of the linked container's Config.Env
    ///   except HOME and PATH (entries without "=" are skipped).
    ///
    /// ALIAS here is the alias in upper case with "-" made "_". (Docker 29
    /// keeps these only with DOCKER_KEEP_DEPRECATED_LEGACY_LINKS_ENV_VARS=1;
    /// berth writes them, as the books and older Docker do.)
    public func environment(linkingName: String, linkedAddress: String, exposedPorts: [Port], linkedEnv: [String]) -> [String] {
        let prefix = String(alias.uppercased().map { $0 == "-" ? "_" : $0 })
        let ports = Set(exposedPorts).sorted { a, b in
            if a.proto == b.proto { return a.number < b.number }
            if a.proto == "tcp" { return true }
            if b.proto == "tcp" { return false }
            return a.proto < b.proto
        }
        var env: [String] = []
        func url(_ p: Port) -> String { "\(p.proto)://\(linkedAddress):\(p.number)" }
        func key(_ p: Port) -> String { "\(prefix)_PORT_\(p.number)_\(p.proto.uppercased())" }
        var start: Port? = nil, end: Port? = nil
        for (i, p) in ports.enumerated() {
            if i == 0 {
                start = p; end = p
                env.append("\(prefix)_PORT=\(url(p))")
            }
            env.append("\(key(p))=\(url(p))")
            env.append("\(key(p))_ADDR=\(linkedAddress)")
            env.append("\(key(p))_PORT=\(p.number)")
            env.append("\(key(p))_PROTO=\(p.proto)")
            // A run of consecutive ports of one protocol is also given as a range.
            if let e = end, p.number == e.number &+ 1, p.proto == e.proto {
                end = p
                if i < ports.count - 1 { continue }
            }
            if let s = start, let e = end, s != e {
                env.append("\(key(s))_START=\(url(s))")
                env.append("\(key(s))_PORT_START=\(s.number)")
                env.append("\(key(s))_END=\(url(e))")
                env.append("\(key(s))_PORT_END=\(e.number)")
            }
            start = p; end = p
        }
        env.append("\(prefix)_NAME=/\(Link.trimmed(linkingName))/\(alias)")
        for entry in linkedEnv {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let name = entry[..<eq]
            // Set by image builds, meaningless in another container.
            if name == "HOME" || name == "PATH" { continue }
            env.append("\(prefix)_ENV_\(name)=\(entry[entry.index(after: eq)...])")
        }
        return env
    }

    static func trimmed(_ s: String) -> String { s.hasPrefix("/") ? String(s.dropFirst()) : s }
}
