import RPC

/// One mount point of a container, resolved at create (from `-v`, `--mount`,
/// `--volumes-from` and the image's VOLUMEs) and kept in its record, so that
/// every start mounts the same volumes and `inspect` shows them.
public struct ContainerMount: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case volume, bind, tmpfs }
    public var type: Kind
    /// The volume's name (volumes).
    public var name: String?
    /// The host path (binds).
    public var source: String?
    public var destination: String
    public var rw: Bool
    /// As given with -v ("ro", "z", "ro,rshared"); Docker's Mode.
    public var mode: String
    /// Binds: "rprivate" unless given.
    public var propagation: String
    /// Never fill the volume from the image (`nocopy`, `volume-nocopy`).
    public var noCopy: Bool?
    /// `-v /host:/path` makes a missing host directory; `--mount type=bind` refuses one.
    public var createSource: Bool?
    /// tmpfs mounts: mount(8) options (size=…, mode=…).
    public var tmpfsOptions: String?

    public init(type: Kind, name: String? = nil, source: String? = nil, destination: String, rw: Bool = true, mode: String = "",
                propagation: String = "", noCopy: Bool? = nil, createSource: Bool? = nil, tmpfsOptions: String? = nil) {
        self.type = type; self.name = name; self.source = source; self.destination = destination; self.rw = rw
        self.mode = mode; self.propagation = propagation; self.noCopy = noCopy; self.createSource = createSource
        self.tmpfsOptions = tmpfsOptions
    }

    /// Docker's MountPoint for inspect and ps; `volumeData` gives a volume's host path.
    func view(volumeData: (String) -> String) -> BerthAPI.MountPoint {
        switch type {
        case .volume:
            return .init(type: "volume", name: name, source: volumeData(name ?? ""), destination: destination, driver: "local",
                         mode: mode, rw: rw, propagation: propagation)
        case .bind:
            return .init(type: "bind", name: nil, source: source ?? "", destination: destination, driver: nil, mode: mode, rw: rw,
                         propagation: propagation)
        case .tmpfs:
            return .init(type: "tmpfs", name: nil, source: "", destination: destination, driver: nil, mode: mode, rw: rw, propagation: propagation)
        }
    }
}
