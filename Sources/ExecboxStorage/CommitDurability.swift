/// When a write's commit returns: once it is on disk, or as soon as it is committed.
public enum CommitDurability: Hashable, Sendable {
    /// On disk before the call returns (fsync).
    case synced
    /// Committed (visible, and kept if the server process crashes) but not yet on disk: an OS
    /// crash or power loss may lose it until the next synced commit, which syncs it too. For a
    /// write that a synced one follows before anyone is told of it.
    case deferred
}
