/// Result of a session create: the new session, or the earlier one on an idempotent replay.
public struct SessionCreation: Hashable, Sendable {
    public var session: SessionRecord
    public var replayed: Bool

    public init(session: SessionRecord, replayed: Bool) {
        self.session = session
        self.replayed = replayed
    }
}
