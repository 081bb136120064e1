/// Counts behind GetUsage.
public struct SessionCounts: Hashable, Sendable {
    public var active: Int
    public var createdSince: Int

    public init(active: Int, createdSince: Int) {
        self.active = active
        self.createdSince = createdSince
    }
}
