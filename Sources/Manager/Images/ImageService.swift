import Content
import FoundationEssentials
import Glibc
import Metadata
import OCI
import Registry
import RPC
import Snapshots
import Synchronization

/// Images: pull, push, list, tag, remove, inspect, history, prune, save,
/// load, import. The content store holds the bytes, the snapshotter the
/// unpacked layers (committed snapshots named by chain ID), metadata.db the
/// names (ImageStore) and the leases that protect a pull in progress.
public final class ImageService: Sendable {
    public let content: ContentStore
    public let snapshotter: any Snapshotter
    public let images: ImageStore
    public let leases: LeaseStore
    public let registry: RegistryClient
    /// Registry clients with other credentials are made per call (login checks).
    let registryConfiguration: RegistryConfiguration
    let credentials: CredentialStore
    /// One garbage collection at a time (rmi and prune may race).
    let gcLock = Mutex(())
    /// How many garbage collections have begun (a container's teardown that
    /// held layers as roots meanwhile collects once more when it is done).
    let collections = Atomic<Int>(0)
    public let database: Database
    /// Other roots of garbage collection (containers: their snapshots and images).
    let rootsProviders = Mutex<[@Sendable () -> (targets: [String], snapshots: [String])]>([])
    /// The ids of the containers using an image id (rmi refuses to delete it).
    let imageUsers = Mutex<@Sendable (String) -> [String]>({ _ in [] })

    /// How long a pull's lease protects what it fetched if berthd dies mid-pull.
    static let leaseTTL: Int64 = 3600 * 1_000_000_000

    public init(content: ContentStore, snapshotter: any Snapshotter, database: Database,
                registryConfiguration: RegistryConfiguration, credentials: CredentialStore) throws {
        self.content = content
        self.snapshotter = snapshotter
        self.database = database
        images = try ImageStore(db: database)
        leases = try LeaseStore(db: database)
        self.registryConfiguration = registryConfiguration
        self.credentials = credentials
        registry = RegistryClient(configuration: registryConfiguration, credentials: credentials)
    }

    public func addRootsProvider(_ p: @escaping @Sendable () -> (targets: [String], snapshots: [String])) {
        rootsProviders.withLock { $0.append(p) }
    }

    public func setImageUsers(_ f: @escaping @Sendable (String) -> [String]) { imageUsers.withLock { $0 = f } }

    /// Unix nanoseconds.
    static func now() -> Int64 {
        let ts = Clock.now()
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// A normalized reference; a bare name gets `:latest`.
    public func parse(_ name: String) throws -> Reference {
        do { return try registry.parse(name).withDefaultTag } catch { throw BerthError(.invalidArgument, "\(error)") }
    }

    /// The name an image record has for `ref`: NAME:TAG, or NAME@DIGEST when pulled by digest.
    static func recordName(_ ref: Reference) -> String {
        if let d = ref.digest, ref.tag == nil { return ref.name + "@" + d.description }
        return ref.name + ":" + (ref.tag ?? Reference.defaultTag)
    }

    /// The manifest for `platform` under `target` (itself when it is a manifest). Of an index,
    /// only the manifests in the store count (a pull stores one platform's): the one whose
    /// config is `config` when given (an image record's id), else the platform's, else the
    /// first one stored.
    public func platformManifest(_ target: Descriptor, platform: Platform = .host, config: Digest? = nil) throws -> (Descriptor, Manifest) {
        let bytes = try content.read(target.digest)
        switch try ImageDocument.decode(bytes, mediaType: target.mediaType) {
        case .manifest(let m): return (target, m)
        case .index(let index):
            let present = index.manifests.filter { content.has($0.digest) }
            if let config {
                for d in present {
                    if let (md, m) = try? platformManifest(d, platform: platform), m.config.digest == config { return (md, m) }
                }
            }
            guard let d = index.manifest(for: platform).flatMap({ content.has($0.digest) ? $0 : nil }) ?? present.first else {
                throw BerthError(.notFound, "no matching manifest for \(platform) in the manifest list entries")
            }
            return try platformManifest(d, platform: platform)
        }
    }

    public func config(of manifest: Manifest) throws -> ImageConfig {
        try ImageDocument.decodeConfig(try content.read(manifest.config.digest))
    }
}
