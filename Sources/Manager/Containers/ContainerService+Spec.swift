import ContainerSpec
import OCI
import RPC

extension ContainerService {
    /// One builder for the daemon's life: it holds what it detected of the host.
    static let specBuilder = SpecBuilder()

    /// config.json for the container's task (docs/container-spec.md): the
    /// record's Config and HostConfig, the rootfs at `rootfs`, and the
    /// namespaces of `container:NAME` modes found through that container's pid, the
    /// network namespace berthd made for it (`netns`, NetworkService.attach), and
    /// the volume, bind and container file mounts (`extraMounts`), and `--link`'s variables.
    func renderSpec(_ r: ContainerRecord, rootfs: String, netns: String? = nil, extraMounts: [RuntimeConfig.Mount] = [],
                    linkEnvironment: [String] = []) throws -> [UInt8] {
        var namespaces: [SpecBuilder.NamespaceKind: String] = [:]
        if let netns { namespaces[.network] = netns }
        let modes: [(SpecBuilder.NamespaceKind, String?, String)] = [
            (.pid, r.hostConfig.pidMode, "pid"), (.ipc, r.hostConfig.ipcMode, "ipc"),
            (.network, r.hostConfig.networkMode, "net"), (.uts, r.hostConfig.utsMode, "uts"),
        ]
        for (kind, mode, file) in modes {
            guard let mode, mode.hasPrefix("container:") else { continue }
            let ref = String(mode.dropFirst(10))
            guard let other = try? entry(ref), other.id != r.id else {
                throw BerthError(.invalidArgument, "joining the namespace of container \(ref): No such container: \(ref)")
            }
            let pid = other.record.state.pid
            guard other.record.state.hasTask, pid > 0 else {
                throw BerthError(.failedPrecondition, "cannot join the namespace of container \(ref): Container \(other.id) is not running")
            }
            namespaces[kind] = "/proc/\(pid)/ns/\(file)"
        }
        do {
            let out = try Self.specBuilder.build(.init(id: r.id, config: r.config, hostConfig: r.hostConfig, rootfs: rootfs,
                                                       initPath: paths.initBinary, namespacePaths: namespaces,
                                                       extraMounts: extraMounts, linkEnvironment: linkEnvironment))
            return try out.json()
        } catch let e as ContainerSpecError {
            throw BerthError(.invalidArgument, e.message)
        }
    }
}
