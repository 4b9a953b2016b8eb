/// Where berthd keeps its files and listens; from berthd's command line.
public struct DaemonOptions: Sendable, Equatable {
    /// Persistent state: content, snapshots, metadata.db, berthd.lock (created 0700).
    public var root = "/var/lib/berth"
    /// Volatile state: bundles, runtime state, the socket (created 0711).
    public var state = "/run/berth"
    public var socket = BerthAPIDefaults.socket
    /// The socket's group when this group exists, so that its members may use berth without root.
    public var socketGroup = "berth"
    /// How long requests in flight may run on after SIGTERM.
    public var shutdownGraceMillis: Int64 = 5000

    public init() {}
}

/// Defaults shared with the CLI, without making this file depend on RPC.
public enum BerthAPIDefaults {
    public static let socket = "/run/berth/berthd.sock"
}
