import Content
import FoundationEssentials
import Metadata
import OCI
import Registry
import RPC
import Snapshots
import Unpack

extension ImageService {
    /// Opens the image side of berthd under `root`: metadata.db, the content
    /// store, the preferred snapshotter (overlayfs, else the copying one), and
    /// clears what an interrupted run left (active extraction snapshots).
    public static func start(root: String, config: DaemonConfig, logger: Logger) throws -> ImageService {
        let db = try Database(path: root + "/metadata.db")
        let content = try ContentStore(root: root)
        let kind = SnapshotterKind.preferred(root: root + "/snapshots")
        let snapshotter = try kind.open(root: root + "/snapshots", database: db)
        let stale = try PendingLayer.removeStale(on: snapshotter)
        if stale > 0 { logger.info("removed \(stale) unfinished layer extraction(s) of an interrupted run") }
        var rc = RegistryConfiguration()
        if !config.defaultRegistry.isEmpty { rc.defaultRegistry = config.defaultRegistry }
        rc.insecureRegistries = config.insecureRegistries
        rc.caFiles = config.caFiles
        rc.registryMirrors = config.registryMirrors
        rc.certsDirectory = config.certsDirectory
        let service = try ImageService(content: content, snapshotter: snapshotter, database: db,
                                       registryConfiguration: rc, credentials: CredentialStore())
        // A daemon killed mid-pull left a lease; its content goes once it expires.
        // The first collection waits for every roots provider (containers): see
        // `collectGarbageAtStart`, called once the services are up.
        return service
    }

    static func provider(_ auth: BerthAPI.RegistryAuth?, for reference: String, client: RegistryClient) -> (any CredentialProvider)? {
        guard let auth, let ref = try? client.parse(reference) else { return nil }
        return StaticCredentials([ref.domain: Credentials(username: auth.username, password: auth.password)])
    }

    /// The image methods (docs/berthd-api.md, Images).
    public func register(on daemon: Daemon) {
        let server = daemon.server
        server.register(.imagePull) { (p: BerthAPI.PullParams, ctx) -> BerthAPI.PullResult in
            var platform: Platform?
            if let s = p.platform {
                do { platform = try Platform(parsing: s) } catch { throw BerthError(.invalidArgument, "invalid platform \(s): \(error)") }
            }
            let credentials = Self.provider(p.auth, for: p.reference, client: self.registry)
            let report: @Sendable (BerthAPI.PullProgress) -> Void = { _ = ctx.progress($0) }
            guard p.allTags == true else {
                let ref = try self.parse(p.reference)
                let r = try await self.pull(ref, platform: platform, credentials: credentials, progress: report)
                return BerthAPI.PullResult(name: ref.familiarString, digest: r.digest.description, id: r.imageID.description, changed: r.changed)
            }
            // pull -a: every tag of the repository, one after another.
            var repo: Reference
            do { repo = try self.registry.parse(p.reference) } catch { throw BerthError(.invalidArgument, "\(error)") }
            guard repo.tag == nil && repo.digest == nil else {
                throw BerthError(.invalidArgument, "tag can't be used with --all-tags/-a")
            }
            let client = credentials.map { RegistryClient(configuration: self.registryConfiguration, credentials: $0) } ?? self.registry
            let tags: [String]
            do { tags = try await client.tags(repo) } catch let e as RegistryError { throw Self.apiError(e, repo) }
            guard !tags.isEmpty else { throw BerthError(.notFound, "no tags in repository \(repo.familiarName)") }
            var last: PullResult?
            var changed = false
            for tag in tags.sorted() {
                repo.tag = tag
                let r = try await self.pull(repo, platform: platform, credentials: credentials, progress: report)
                changed = changed || r.changed
                last = r
            }
            repo.tag = nil
            return BerthAPI.PullResult(name: repo.familiarName, digest: last!.digest.description, id: last!.imageID.description, changed: changed)
        }
        server.register(.imagePush) { (p: BerthAPI.PushParams, ctx) -> BerthAPI.PushResult in
            try await self.push(p.reference, credentials: Self.provider(p.auth, for: p.reference, client: self.registry)) {
                _ = ctx.progress($0)
            }
        }
        server.register(.registryLogin) { (p: BerthAPI.LoginParams, _) in try await self.login(p) }
        server.register(.imageList) { (p: BerthAPI.ImageListParams, _) in try self.list(p) }
        server.register(.imageInspect) { (p: BerthAPI.ImageRef, _) in try self.inspect(p.name) }
        server.register(.imageHistory) { (p: BerthAPI.ImageRef, _) in try self.history(p.name) }
        server.register(.imageTag) { (p: BerthAPI.TagParams, _) -> NoParams in
            try self.tag(source: p.source, target: p.target)
            return NoParams()
        }
        server.register(.imageRemove) { (p: BerthAPI.ImageRemoveParams, _) in try self.remove(p.name, force: p.force ?? false) }
        server.register(.imagePrune) { (p: BerthAPI.PruneParams, _) in try self.prune(all: p.all ?? false) }
        server.register(.imageSave) { (p: BerthAPI.SaveParams, _) -> NoParams in
            guard p.path.hasPrefix("/") else { throw BerthError(.invalidArgument, "save: the path must be absolute: \(p.path)") }
            try await BlockingThread.run { try self.save(names: p.names, to: p.path, format: p.format) }
            return NoParams()
        }
        server.register(.imageLoad) { (p: BerthAPI.LoadParams, _) -> BerthAPI.LoadResult in
            guard p.path.hasPrefix("/") else { throw BerthError(.invalidArgument, "load: the path must be absolute: \(p.path)") }
            return try await BlockingThread.run { try self.load(from: p.path) }
        }
        server.register(.imageImport) { (p: BerthAPI.ImportParams, _) -> BerthAPI.ImportResult in
            guard p.path.hasPrefix("/") else { throw BerthError(.invalidArgument, "import: the path must be absolute: \(p.path)") }
            return try await BlockingThread.run { try self.importImage(p) }
        }
        server.register(.systemDF) { (_: NoParams, _) in try self.diskUsage() }
        daemon.addInfoContributor { info in
            info.images = (try? self.list(BerthAPI.ImageListParams()).count) ?? 0
            info.storageDriver = self.snapshotter.name
        }
    }
}
