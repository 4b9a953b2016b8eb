import RPC

extension SpecBuilder {
    /// How one namespace is set up.
    enum NamespaceMode: Equatable {
        /// A new namespace of the container's own.
        case new
        /// The host's: no namespace in the spec.
        case host
        /// Joined at the path the caller resolved.
        case join(String)
    }

    /// NetworkMode: "host" shares the host's, "container:NAME" joins, everything else
    /// ("", "default", "bridge", "none", a network name) gets its own namespace: the one the
    /// manager made and passes in `namespacePaths[.network]`, else a new one with only loopback.
    func networkMode(_ mode: String?) -> NamespaceMode {
        if mode == "host" { return .host }
        if let m = mode, m.hasPrefix("container:") { return .join("") }
        return .new
    }

    /// PidMode, IpcMode, UTSMode (and NetworkMode): "host", "container:NAME", or new.
    func namespaceMode(_ mode: String?, kind: NamespaceKind, input: Input) throws(ContainerSpecError) -> NamespaceMode {
        let m = mode ?? ""
        if m == "host" { return .host }
        if m.hasPrefix("container:") {
            guard m.count > "container:".count else {
                throw ContainerSpecError(.invalidNamespaceMode, "invalid \(kind.rawValue) mode \(m.debugDescription): no container named")
            }
            guard let path = input.namespacePaths[kind], path.hasPrefix("/") else {
                throw ContainerSpecError(.invalidNamespaceMode,
                    "\(kind.rawValue) mode \(m): the namespace path of the container was not resolved (namespacePaths[.\(kind.rawValue)])")
            }
            return .join(path)
        }
        let known: [NamespaceKind: Set<String>] = [
            .pid: ["", "private"], .uts: ["", "private"],
            .ipc: ["", "private", "shareable", "none"],
        ]
        if kind == .network || known[kind]?.contains(m) == true { return .new }
        throw ContainerSpecError(.invalidNamespaceMode, "invalid \(kind.rawValue) mode: \(m)")
    }

    /// Docker's namespaces: mount, network, uts, pid, ipc, and cgroup (private, as Docker
    /// does on cgroup v2 and runc-based engines do for every new container).
    func namespaces(_ input: Input) throws(ContainerSpecError) -> [RuntimeConfig.Namespace] {
        let hc = input.hostConfig
        var out: [RuntimeConfig.Namespace] = [.init(type: "mount")]
        let modes: [(String, NamespaceKind, String?)] = [
            ("network", .network, hc.networkMode), ("uts", .uts, hc.utsMode),
            ("pid", .pid, hc.pidMode), ("ipc", .ipc, hc.ipcMode),
        ]
        for (type, kind, mode) in modes {
            // The manager's own namespace for the container (made and wired up before
            // the runtime runs: docs/networking.md) is joined at the path it gives.
            if kind == .network, case .new = networkMode(mode), let path = input.namespacePaths[.network] {
                out.append(.init(type: type, path: path))
                continue
            }
            switch try namespaceMode(mode, kind: kind, input: input) {
            case .new: out.append(.init(type: type))
            case .host: continue
            case .join(let path): out.append(.init(type: type, path: path))
            }
        }
        out.append(.init(type: "cgroup"))
        return out
    }

    /// The hostname: Config.Hostname, else the id's first 12 characters; none in the host's
    /// UTS namespace (setting it would rename the host) or a joined one (it has its own).
    func hostname(_ input: Input) throws(ContainerSpecError) -> String? {
        let mode = try namespaceMode(input.hostConfig.utsMode, kind: .uts, input: input)
        let given = nonEmpty(input.config.hostname)
        switch mode {
        case .new: return given ?? String(input.id.prefix(12))
        case .host, .join:
            if given != nil {
                throw ContainerSpecError(.invalidConfig, "conflicting options: hostname and the UTS mode")
            }
            return nil
        }
    }
}
