import Content

/// Progress of one blob in a pull or a push, with Docker's state words so the CLI can print
/// them as Docker does.
public struct BlobProgress: Sendable {
    public enum State: String, Sendable {
        case waiting = "Waiting"
        case downloading = "Downloading"
        case retrying = "Retrying"
        case verifying = "Verifying Checksum"
        case downloadComplete = "Download complete"
        case alreadyExists = "Already exists"
        case preparing = "Preparing"
        case pushing = "Pushing"
        case pushed = "Pushed"
        case layerAlreadyExists = "Layer already exists"
        case mounted = "Mounted from"
    }

    public var descriptor: Descriptor
    public var state: State
    /// Bytes done so far and the blob's size.
    public var current: Int64
    public var total: Int64
    /// For `.mounted`: the repository the blob was mounted from.
    public var detail: String?

    public init(descriptor: Descriptor, state: State, current: Int64 = 0, total: Int64? = nil, detail: String? = nil) {
        self.descriptor = descriptor
        self.state = state
        self.current = current
        self.total = total ?? descriptor.size
        self.detail = detail
    }
}

public typealias ProgressHandler = @Sendable (BlobProgress) -> Void

/// Receives a blob's bytes, in order from offset 0, while it downloads (the manager unpacks
/// a layer as it arrives). Called on the transfer's thread; throwing stops the download.
/// If the digest check fails at the end, the fetch throws: what the consumer made is void.
public typealias BlobConsumer = @Sendable (UnsafeRawBufferPointer) throws -> Void
