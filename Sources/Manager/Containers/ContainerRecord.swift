import FoundationEssentials
import Network
import RPC

/// One container as berthd keeps it: what it was created from and its state.
/// Persisted whole as JSON in metadata.db (ContainerStore) at every change, so
/// a restarted berthd knows every container and what it last saw of it.
public struct ContainerRecord: Codable, Sendable, Equatable {
    /// 64 hex characters.
    public var id: String
    /// Without Docker's leading slash.
    public var name: String
    /// Unix nanoseconds.
    public var created: Int64
    /// The image as the user typed it, and its id (sha256:… of its config).
    public var image: String
    public var imageID: String
    /// The digest of the manifest or index the image name pointed at (a GC root while the container exists).
    public var imageTarget: String?
    /// The image's config merged with the user's options.
    public var config: BerthAPI.ContainerConfig
    public var hostConfig: BerthAPI.HostConfig
    /// The writable snapshot (its key in the snapshotter) and its parent (the image's top chain ID).
    public var snapshotKey: String
    public var snapshotParent: String?
    /// The JSON-lines log the shim writes (persistent: it outlives the task, until rm).
    public var logPath: String
    public var state: ContainerState
    public var restartCount: Int = 0
    /// The back-off before the last automatic restart (Docker doubles it each time).
    public var restartDelayMillis: Int64 = 0
    /// `stop` or `kill` by the user: unless-stopped does not restart it, even across a berthd restart.
    public var manuallyStopped: Bool = false
    /// Volumes, binds and `--mount` tmpfs mounts, resolved at create (absent in records made before volumes).
    public var mounts: [ContainerMount]?
    /// The networks the container is on, its first one NetworkMode's (docs/networking.md);
    /// nil for host, none and container: modes.
    public var networks: [ContainerEndpoint]?
    /// While the task runs: its pinned network namespace (Docker's SandboxKey) and published ports.
    public var sandboxKey: String?
    public var publishedPorts: [PublishedPort]?

    /// Docker's Path and Args: the first word of the command and the rest.
    public var path: String { (config.entrypoint ?? []).first ?? (config.cmd ?? []).first ?? "" }
    public var args: [String] { Array(((config.entrypoint ?? []) + (config.cmd ?? [])).dropFirst()) }
    public var shortID: String { String(id.prefix(12)) }
}

/// Docker's State, in berthd's terms.
public struct ContainerState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case created, running, paused, restarting, removing, exited, dead
    }
    public var status: Status = .created
    /// The init's pid while a task runs, else 0.
    public var pid: Int = 0
    public var exitCode: Int = 0
    /// Why the last start failed, or why the exit was derived rather than seen.
    public var error: String = ""
    public var oomKilled: Bool = false
    /// Unix nanoseconds; 0 = never.
    public var startedAt: Int64 = 0
    public var finishedAt: Int64 = 0

    /// A task (shim + runtime container) exists.
    public var hasTask: Bool { status == .running || status == .paused }
}
