/// One `NOTIFY` received on a channel.
public struct PostgresNotification: Hashable, Sendable {
    public var channel: String
    public var payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}
