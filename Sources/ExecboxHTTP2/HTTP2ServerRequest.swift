/// One request stream as a handler sees it: the head, the body as it arrives, and where the
/// response goes.
///
/// It holds the stream's state alone (one reference to copy into a handler, not one per part)
/// and reads from it only what is fixed once the request head has arrived: the stream's id, its
/// head (a server stream's later header block, its trailers, goes elsewhere), its body object and
/// the connection's peer address. So any thread may read it.
public struct HTTP2ServerRequest: Sendable {
    let stream: HTTP2StreamState

    public var streamID: Int32 { stream.id }
    /// Every header field, pseudo-headers (`:method`, `:path`, …) included.
    public var headers: HTTP2Headers { stream.headers }
    /// The request body. It ends only with the client's END_STREAM; a stream closed before that
    /// (a reset, whatever its code) makes it throw `streamClosed`. Read it before the handler
    /// returns: an upload still coming once the handler has returned with a complete response is
    /// stopped (see `HTTP2Server.Handler`).
    public var body: HTTP2InboundBody { stream.inbound }
    /// The peer's address, for logs.
    public var peer: String { stream.handler.peer }

    /// Made from the head's bytes on each read: keep them in a local when read more than once.
    public var method: String { stream.headers[":method"] ?? "" }
    public var path: String { stream.headers[":path"] ?? "" }
    public var authority: String? { stream.headers[":authority"] }
}
