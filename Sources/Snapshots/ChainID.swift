import Content

/// Chain IDs name a stack of layers by content (OCI image spec, "Layer ChainID"):
/// chainID(L0) = diffID(L0), chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
/// The manager keys committed layer snapshots by them, so two images sharing a
/// base share its snapshots.
public enum ChainID {
    /// The chain ID of every prefix of `diffIDs` (bottom layer first).
    public static func chain(_ diffIDs: [Digest]) -> [Digest] {
        var out: [Digest] = []
        out.reserveCapacity(diffIDs.count)
        for diffID in diffIDs {
            if let previous = out.last {
                out.append(Digest.sha256(of: Array((previous.description + " " + diffID.description).utf8)))
            } else {
                out.append(diffID)
            }
        }
        return out
    }

    /// The chain ID of the whole stack.
    public static func of(_ diffIDs: [Digest]) -> Digest? { chain(diffIDs).last }
}
