public import NIOCore

/// Protocol limits and defences of one HTTP/2 connection. Every value has a safe default;
/// docs/http2.md explains each against the attack it bounds.
public struct HTTP2Configuration: Sendable, Hashable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS sent to the peer; nghttp2 refuses streams beyond it.
    public var maxConcurrentStreams: Int = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: bytes a peer may send on one stream before we consume them.
    /// It bounds the memory one stream's unread request body can take.
    public var initialWindowSize: Int = 1 << 20
    /// The connection window, opened once at start: bounds the unread bytes of all streams together.
    public var connectionWindowSize: Int = 16 << 20
    /// SETTINGS_MAX_FRAME_SIZE.
    public var maxFrameSize: Int = 1 << 14
    /// SETTINGS_MAX_HEADER_LIST_SIZE; nghttp2 only advertises it, so header bytes are also counted
    /// as they arrive and a stream over the limit is reset.
    public var maxHeaderListSize: Int = 64 << 10
    /// CONTINUATION frames allowed in one header block.
    public var maxContinuations: Int = 8
    /// RST_STREAM frames a peer may send: a burst, refilled at a rate per second (rapid reset).
    public var streamResetBurst: Int = 1000
    public var streamResetRatePerSecond: Int = 33
    /// Protocol glitches a peer may cause on one connection — resets the server must send, invalid
    /// frames, empty DATA frames, PRIORITY frames — as a burst refilled at a rate per second; past
    /// it the connection gets GOAWAY (ENHANCE_YOUR_CALM). Bounds the "MadeYouReset" class and
    /// empty-frame floods, which nghttp2 1.52 does not.
    public var glitchBurst: Int = 200
    public var glitchRatePerSecond: Int = 20
    /// SETTINGS and PING frames awaiting acknowledgement before the connection is dropped.
    public var maxOutboundAcks: Int = 1000
    /// SETTINGS entries accepted in one frame.
    public var maxSettingsEntries: Int = 32
    /// Bytes written to a response stream that are not yet sent before `write` suspends.
    public var streamOutboundHighWatermark: Int = 256 << 10
    public var streamOutboundLowWatermark: Int = 64 << 10
    /// Server: a stream with response bytes queued that the peer's flow-control window has kept
    /// from moving for this long is reset (CANCEL): a reader that never opens its window cannot hold a
    /// handler, its buffer and a stream slot forever. Checked once a second.
    public var sendStallTimeout: TimeAmount = .seconds(60)
    /// Server: a connection with no open stream for this long gets GOAWAY and is closed.
    public var idleTimeout: TimeAmount = .seconds(300)
    /// Keepalive (server and client; `client` waits 5 minutes): a connection with open streams
    /// from which nothing has arrived for this long is sent a PING; nil sends none. A live peer
    /// acknowledges it at once (every HTTP/2 stack does), so only a peer that has gone away
    /// without closing (a crashed host, a dropped route) stays silent. On a server it would
    /// otherwise hold its streams, their handlers and their sandboxes' processes forever, since
    /// `idleTimeout` counts only connections without streams; a client would wait forever on a
    /// quiet stream.
    public var pingInterval: TimeAmount? = .seconds(60)
    /// After a keepalive PING, how long the peer has to send anything (the ACK, or any other
    /// frame) before the connection gets GOAWAY and is closed, cancelling its streams' handlers.
    public var pingTimeout: TimeAmount = .seconds(20)
    /// Server: a stream on which nothing moved for this long — no DATA received, no response head,
    /// body byte or end handed to nghttp2 for sending — is reset (CANCEL) and its handler
    /// cancelled; nil (the default) lets streams be quiet: an attached process may print nothing
    /// for hours while its client waits, and an absent peer is found by the keepalive PING
    /// instead. For servers whose streams should never be quiet long (a request/response API), a
    /// bound on how long one can hold a handler and a stream slot. Checked once a second.
    public var streamIdleTimeout: TimeAmount?

    public init() {}

    /// The defaults for a client connection: as `init()`, but the keepalive PING only after 5
    /// minutes of silence. gRPC servers (grpc-core, grpc-go) count a PING sooner than 5 minutes
    /// after the last one, while they send no data, as a strike, and after two answer GOAWAY
    /// ENHANCE_YOUR_CALM ("too_many_pings"), which would end a quiet stream.
    public static var client: HTTP2Configuration {
        var configuration = HTTP2Configuration()
        configuration.pingInterval = .minutes(5)
        return configuration
    }
}
