/// One line of a pull's (or push's) progress, as Docker prints them: either
/// a message (`id` nil: "latest: Pulling from library/busybox") or a layer's
/// state (`id` its 12-character digest; `current`/`total` bytes while it
/// moves). Sent to the CLI as `progress` notifications.
public struct PullEvent: Sendable, Codable, Equatable {
    public var id: String?
    public var status: String
    public var current: Int64?
    public var total: Int64?

    public init(id: String? = nil, status: String, current: Int64? = nil, total: Int64? = nil) {
        self.id = id
        self.status = status
        self.current = current
        self.total = total
    }
}
