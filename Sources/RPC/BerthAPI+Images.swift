import OCI

extension BerthMethod {
    /// Pull an image (progress: `BerthAPI.PullProgress`): `PullParams` → `PullResult`.
    public static let imagePull: BerthMethod = "image.pull"
    /// Push an image (progress as pull): `PushParams` → `PushResult`.
    public static let imagePush: BerthMethod = "image.push"
    /// `ImageListParams` → `[ImageSummary]`.
    public static let imageList: BerthMethod = "image.list"
    /// `ImageRef` → Docker-shaped inspect object.
    public static let imageInspect: BerthMethod = "image.inspect"
    /// `TagParams` → `{}`.
    public static let imageTag: BerthMethod = "image.tag"
    /// `ImageRemoveParams` → `[ImageDeleteItem]`.
    public static let imageRemove: BerthMethod = "image.remove"
    /// `ImageRef` → `[HistoryItem]`.
    public static let imageHistory: BerthMethod = "image.history"
    /// `PruneParams` → `PruneResult`.
    public static let imagePrune: BerthMethod = "image.prune"
    /// `SaveParams` → `{}` (the archive is written to `path`).
    public static let imageSave: BerthMethod = "image.save"
    /// `LoadParams` → `LoadResult`.
    public static let imageLoad: BerthMethod = "image.load"
    /// `ImportParams` → `ImportResult`.
    public static let imageImport: BerthMethod = "image.import"
    /// Checks credentials against a registry: `LoginParams` → `LoginResult`.
    public static let registryLogin: BerthMethod = "registry.login"
    /// Disk usage (`berth system df`): → `DiskUsage`.
    public static let systemDF: BerthMethod = "system.df"
}

extension BerthAPI {
    /// Registry credentials a client passes with a call (Docker's X-Registry-Auth):
    /// the CLI keeps them in its credentials file; berthd does not store them.
    public struct RegistryAuth: Codable, Sendable, Equatable {
        public var username: String
        public var password: String
        public init(username: String, password: String) { self.username = username; self.password = password }
    }

    public struct PullParams: Codable, Sendable, Equatable {
        /// As the user typed it (`busybox`, `localhost:5000/a:1`, `name@sha256:…`).
        public var reference: String
        /// `os/arch[/variant]`; the host's when absent.
        public var platform: String?
        public var auth: RegistryAuth?
        /// Every tag of the repository (`pull -a`); `reference` then names the repository only.
        public var allTags: Bool?
        public init(reference: String, platform: String? = nil, auth: RegistryAuth? = nil, allTags: Bool? = nil) {
            self.reference = reference; self.platform = platform; self.auth = auth; self.allTags = allTags
        }
    }

    /// A `progress` notification of pull and push: a message (`id` absent) or one
    /// layer's state in Docker's words, with bytes while it moves.
    public struct PullProgress: Codable, Sendable, Equatable {
        public var id: String?
        public var status: String
        public var current: Int64?
        public var total: Int64?
        public init(id: String? = nil, status: String, current: Int64? = nil, total: Int64? = nil) {
            self.id = id; self.status = status; self.current = current; self.total = total
        }
    }

    public struct PullResult: Codable, Sendable, Equatable {
        /// The normalized name recorded.
        public var name: String
        /// The digest of the manifest or index pulled.
        public var digest: String
        /// The image id (config digest).
        public var id: String
        /// False when the name already pointed at that digest.
        public var changed: Bool
        public init(name: String, digest: String, id: String, changed: Bool) {
            self.name = name; self.digest = digest; self.id = id; self.changed = changed
        }
    }

    public struct PushParams: Codable, Sendable, Equatable {
        public var reference: String
        public var auth: RegistryAuth?
        public init(reference: String, auth: RegistryAuth? = nil) { self.reference = reference; self.auth = auth }
    }

    public struct PushResult: Codable, Sendable, Equatable {
        public var tag: String
        public var digest: String
        public var size: Int64
        public init(tag: String, digest: String, size: Int64) { self.tag = tag; self.digest = digest; self.size = size }
    }

    public struct ImageListParams: Codable, Sendable, Equatable {
        /// As `docker images --filter`: `dangling=true|false`, `reference=PATTERN` (several: any
        /// matches), `before=IMAGE` and `since=IMAGE` (created before / after that image),
        /// `label=KEY` or `label=KEY=VALUE` (several: all must match).
        public var filters: [String: [String]]?
        public init(filters: [String: [String]]? = nil) { self.filters = filters }
    }

    public struct ImageSummary: Codable, Sendable, Equatable {
        /// sha256:… of the config.
        public var id: String
        /// NAME:TAG, familiar (busybox:latest, localhost:5000/a:1).
        public var repoTags: [String]
        /// NAME@sha256:… of the manifest or index.
        public var repoDigests: [String]
        /// Unix seconds, from the config's `created` (0 when it has none).
        public var created: Int64
        /// Bytes: the unpacked layers' size.
        public var size: Int64
        public init(id: String, repoTags: [String], repoDigests: [String], created: Int64, size: Int64) {
            self.id = id; self.repoTags = repoTags; self.repoDigests = repoDigests; self.created = created; self.size = size
        }
    }

    public struct ImageRef: Codable, Sendable, Equatable {
        /// A name, NAME:TAG, NAME@DIGEST, a full or short image id.
        public var name: String
        public init(name: String) { self.name = name }
    }

    public struct TagParams: Codable, Sendable, Equatable {
        public var source: String
        public var target: String
        public init(source: String, target: String) { self.source = source; self.target = target }
    }

    public struct ImageRemoveParams: Codable, Sendable, Equatable {
        public var name: String
        public var force: Bool?
        public init(name: String, force: Bool? = nil) { self.name = name; self.force = force }
    }

    /// One line of `rmi`'s output: `Untagged: busybox:latest` or `Deleted: sha256:…`.
    public struct ImageDeleteItem: Codable, Sendable, Equatable {
        public var untagged: String?
        public var deleted: String?
        public init(untagged: String? = nil, deleted: String? = nil) { self.untagged = untagged; self.deleted = deleted }
    }

    public struct HistoryItem: Codable, Sendable, Equatable {
        /// The image id for the top entry, "<missing>" for the layers below (as Docker).
        public var id: String
        /// Unix seconds; 0 when unknown.
        public var created: Int64
        public var createdBy: String
        public var size: Int64
        public var comment: String
        public var emptyLayer: Bool
        public init(id: String, created: Int64, createdBy: String, size: Int64, comment: String, emptyLayer: Bool) {
            self.id = id; self.created = created; self.createdBy = createdBy; self.size = size; self.comment = comment
            self.emptyLayer = emptyLayer
        }
    }

    public struct PruneParams: Codable, Sendable, Equatable {
        /// Remove every image no container uses, not only dangling ones.
        public var all: Bool?
        public init(all: Bool? = nil) { self.all = all }
    }

    public struct PruneResult: Codable, Sendable, Equatable {
        public var deleted: [ImageDeleteItem]
        public var spaceReclaimed: Int64
        public init(deleted: [ImageDeleteItem], spaceReclaimed: Int64) { self.deleted = deleted; self.spaceReclaimed = spaceReclaimed }
    }

    public struct SaveParams: Codable, Sendable, Equatable {
        public var names: [String]
        /// Absolute path the archive is written to (a file or a FIFO the client reads).
        public var path: String
        /// "docker" (docker save's layout, which also carries an OCI layout) or "oci".
        public var format: String?
        public init(names: [String], path: String, format: String? = nil) { self.names = names; self.path = path; self.format = format }
    }

    public struct LoadParams: Codable, Sendable, Equatable {
        /// Absolute path of the archive (a file or a FIFO the client writes).
        public var path: String
        public init(path: String) { self.path = path }
    }

    public struct LoadResult: Codable, Sendable, Equatable {
        /// "Loaded image: NAME" lines' names, or image ids for untagged images.
        public var loaded: [String]
        public var ids: [String]
        public init(loaded: [String], ids: [String]) { self.loaded = loaded; self.ids = ids }
    }

    public struct ImportParams: Codable, Sendable, Equatable {
        /// Absolute path of a rootfs tarball (plain or compressed).
        public var path: String
        public var reference: String?
        /// Dockerfile-like instructions: `CMD ["sh"]`, `ENV A=b`, `WORKDIR /x`, ….
        public var changes: [String]?
        public var message: String?
        public init(path: String, reference: String? = nil, changes: [String]? = nil, message: String? = nil) {
            self.path = path; self.reference = reference; self.changes = changes; self.message = message
        }
    }

    public struct ImportResult: Codable, Sendable, Equatable {
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct LoginParams: Codable, Sendable, Equatable {
        /// A registry host (`localhost:5000`); Docker Hub when absent.
        public var server: String?
        public var username: String
        public var password: String
        public init(server: String? = nil, username: String, password: String) {
            self.server = server; self.username = username; self.password = password
        }
    }

    public struct LoginResult: Codable, Sendable, Equatable {
        /// The registry's domain as credentials are stored under it.
        public var server: String
        public var status: String
        public init(server: String, status: String) { self.server = server; self.status = status }
    }

    public struct DiskUsage: Codable, Sendable, Equatable {
        public var images: Int
        public var imagesActive: Int
        public var imagesSize: Int64
        public var imagesReclaimable: Int64
        public var containers: Int
        public var containersSize: Int64
        public var volumes: Int
        public var volumesSize: Int64
        public init(images: Int, imagesActive: Int, imagesSize: Int64, imagesReclaimable: Int64, containers: Int = 0,
                    containersSize: Int64 = 0, volumes: Int = 0, volumesSize: Int64 = 0) {
            self.images = images; self.imagesActive = imagesActive; self.imagesSize = imagesSize
            self.imagesReclaimable = imagesReclaimable; self.containers = containers; self.containersSize = containersSize
            self.volumes = volumes; self.volumesSize = volumesSize
        }
    }
}
