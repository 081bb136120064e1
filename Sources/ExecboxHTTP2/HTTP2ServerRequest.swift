/// One request stream as a handler sees it: the head, the body as it arrives, and where the
/// response goes.
public struct HTTP2ServerRequest: Sendable {
    public let streamID: Int32
    /// Every header field, pseudo-headers (`:method`, `:path`, …) included.
    public let headers: HTTP2Headers
    public let body: HTTP2InboundBody
    /// The peer's address, for logs.
    public let peer: String

    /// Made from the head's bytes on each read: keep them in a local when read more than once.
    public var method: String { headers[":method"] ?? "" }
    public var path: String { headers[":path"] ?? "" }
    public var authority: String? { headers[":authority"] }
}
