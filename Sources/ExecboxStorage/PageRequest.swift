/// Keyset pagination: at most `limit` items after the opaque `cursor` of the previous page.
public struct PageRequest: Hashable, Sendable {
    public var limit: Int
    public var cursor: String?

    public init(limit: Int = 50, cursor: String? = nil) {
        self.limit = limit
        self.cursor = cursor
    }
}
