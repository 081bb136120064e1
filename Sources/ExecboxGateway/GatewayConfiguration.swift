/// Limits and options of the REST gateway.
public struct GatewayConfiguration: Sendable {
    /// JSON request bodies larger than this are refused with 413 (the legacy 1 MiB).
    public var maxJSONBodyBytes = 1 << 20
    /// File uploads larger than this are refused with 413.
    public var maxUploadBytes = 100 << 20
    /// Origins allowed to call from a browser (`*` for any); empty: no CORS headers at all.
    public var corsOrigins: [String] = []
    /// A WebSocket ping goes out after this much silence; a peer silent for twice as long is closed.
    public var webSocketPingInterval: Duration = .seconds(30)
    /// The largest WebSocket message read: 16 MiB + 5, so a frame declaring a payload just over the
    /// legacy 0xFFFFFF limit still gets its Error frame; larger messages close the connection (1009).
    public var webSocketMaxMessageBytes = (1 << 24) + 5

    public init() {}
}
