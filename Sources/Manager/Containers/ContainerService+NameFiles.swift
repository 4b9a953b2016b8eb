import FoundationEssentials
import Glibc
import ContainerSpec
import Network
import OCI
import RPC

/// A container's /etc/hosts, /etc/resolv.conf and /etc/hostname, and its
/// `--link`s (docs/networking.md, Container files): written at every start,
/// once NetworkService.attach has given the container its addresses, into
/// `<root>/containers/<id>/` (Docker's place for them), and bind-mounted by
/// the spec.
extension ContainerService {
    struct NameFiles {
        var mounts: [RuntimeConfig.Mount] = []
        /// `--link` variables for the spec (ALIAS_PORT_80_TCP=…).
        var linkEnvironment: [String] = []
    }

    static let nameFileDestinations = [
        (ContainerFileWriter.hostsName, "/etc/hosts"), (ContainerFileWriter.resolvConfName, "/etc/resolv.conf"),
        (ContainerFileWriter.hostnameName, "/etc/hostname"),
    ]

    /// The files for `r`, whose networks are attached; `taken` are destinations the
    /// user mounts something else at (`-v ./hosts:/etc/hosts` wins, as in Docker).
    func prepareNameFiles(_ r: ContainerRecord, taken: Set<String>) throws -> NameFiles {
        let mode = r.hostConfig.networkMode ?? ""
        let readOnly = r.hostConfig.readonlyRootfs ?? false
        func mounts(in dir: String) -> [RuntimeConfig.Mount] {
            Self.nameFileDestinations.compactMap { name, destination in
                guard !taken.contains(destination), access(dir + "/" + name, F_OK) == 0 else { return nil }
                return RuntimeConfig.Mount(destination: destination, type: "bind", source: dir + "/" + name,
                                           options: ["rbind", "rprivate"] + (readOnly ? ["ro"] : []))
            }
        }
        if mode.hasPrefix("container:") {
            // The other container's own files, as its network namespace is shared.
            guard (r.hostConfig.links ?? []).isEmpty else {
                throw BerthError(.invalidArgument, "conflicting options: container type network can't be used with links. This would result in undefined behavior")
            }
            let other = try entry(String(mode.dropFirst(10)))
            return NameFiles(mounts: mounts(in: paths.persistent + "/" + other.id))
        }

        var files = NameFiles()
        let hostname = nonEmpty(r.config.hostname) ?? (r.hostConfig.utsMode == "host" ? Self.specBuilder.host.hostname : r.shortID)
        let defaultGateway = networking.gateway(network: NetworkService.defaultNetwork)?.description
        var extraHosts: [HostsEntry] = []
        for value in r.hostConfig.extraHosts ?? [] {
            do { extraHosts.append(try HostsEntry.addHost(value, hostGateway: defaultGateway)) } catch {
                throw BerthError(.invalidArgument, error.description)
            }
        }
        var linkEntries: [HostsEntry] = []
        for text in r.hostConfig.links ?? [] {
            let (entry, env) = try linkTo(text, from: r)
            linkEntries.append(entry)
            files.linkEnvironment += env
        }

        let hosts: String, resolvMode: ResolvConf.Mode
        if mode == "host" {
            hosts = HostsFile.renderForHostNetwork(hostFile: Self.readText("/etc/hosts"), hostname: hostname, extraHosts: extraHosts)
            resolvMode = .host
        } else {
            let attached = (r.networks ?? []).filter(\.attached)
            hosts = HostsFile.render(hostname: hostname, domainname: r.config.domainname ?? "",
                                     addresses: attached.compactMap(\.ipAddress), extraHosts: extraHosts,
                                     links: linkEntries, ipv6: false)
            // A user-defined network's name server (berthd's, on its gateway) serves the
            // container's names; the default bridge and none get the host's servers.
            let userNetwork = attached.lazy.compactMap { e in self.networking.userDefinedGateway(e.networkID) }.first
            resolvMode = userNetwork.map { .internalResolver($0) } ?? .legacy(ipv6: false)
        }
        let resolv: ResolvConf.Result
        do {
            resolv = try ResolvConf.render(hostFile: Self.readText("/etc/resolv.conf"), mode: resolvMode,
                                           overrides: .init(nameservers: r.hostConfig.dns ?? [], search: r.hostConfig.dnsSearch ?? [],
                                                            options: r.hostConfig.dnsOptions ?? []))
        } catch { throw BerthError(.invalidArgument, error.description) }

        let dir = paths.persistent + "/" + r.id
        do {
            try ContainerFileWriter.write(directory: dir, hosts: hosts, resolvConf: resolv.content,
                                          hostname: HostnameFile.render(hostname: hostname))
        } catch { throw BerthError(.internal, "cannot write the container's hosts files: \(error.description)") }
        files.mounts = mounts(in: dir)
        return files
    }

    /// `--link NAME[:ALIAS]`: the hosts entry and the variables for the linked
    /// container, which must run (Docker's messages).
    func linkTo(_ text: String, from r: ContainerRecord) throws -> (HostsEntry, [String]) {
        let link: Link
        do { link = try Link(parsing: text) } catch { throw BerthError(.invalidArgument, error.description) }
        guard let other = try? entry(link.name), other.id != r.id else {
            throw BerthError(.invalidArgument, "could not get container for \(link.name)")
        }
        let o = other.id == r.id ? r : other.record
        let address = (o.networks ?? []).first(where: \.attached)?.ipAddress
        guard o.state.hasTask, let address else {
            throw BerthError(.failedPrecondition, "Cannot link to a non running container: /\(o.name) AS /\(r.name)/\(link.alias)")
        }
        let ports = (o.config.exposedPorts ?? [:]).keys.compactMap { Link.Port($0) }
        let entry = link.hostsEntry(linkedName: o.name, linkedHostname: nonEmpty(o.config.hostname) ?? o.shortID, linkedAddress: address)
        let env = link.environment(linkingName: r.name, linkedAddress: address, exposedPorts: ports, linkedEnv: o.config.env ?? [])
        return (entry, env)
    }

    /// `--link`s checked at create: each names an existing container (Docker refuses
    /// the create otherwise); whether it runs is checked at start.
    func validateLinks(_ h: BerthAPI.HostConfig) throws {
        for text in h.links ?? [] {
            let link: Link
            do { link = try Link(parsing: text) } catch { throw BerthError(.invalidArgument, error.description) }
            if (h.networkMode ?? "").hasPrefix("container:") {
                throw BerthError(.invalidArgument, "conflicting options: container type network can't be used with links. This would result in undefined behavior")
            }
            guard (try? entry(link.name)) != nil else {
                throw BerthError(.invalidArgument, "could not get container for \(link.name)")
            }
        }
    }

    /// Where inspect's HostsPath, ResolvConfPath and HostnamePath point: the file
    /// once a start wrote it ("" before, as in Docker; a `container:` container's are the other's).
    func nameFilePath(_ r: ContainerRecord, _ name: String) -> String {
        let path = paths.persistent + "/" + r.id + "/" + name
        return access(path, F_OK) == 0 ? path : ""
    }

    /// A host file's text ("" when it is missing: the renderers then use Docker's defaults).
    static func readText(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
