/// When a write's commit returns: once it is on disk, or as soon as it is committed.
public enum CommitDurability: Hashable, Sendable {
    /// On disk before the call returns (fsync).
    case synced
    /// Committed (visible, and kept if the server process crashes) but not yet on disk: an OS
    /// crash or power loss may lose it until the next synced commit, which syncs it too. For a
    /// write whose loss is repaired, or goes with what it describes (a sandbox on the same host).
    case deferred
}
