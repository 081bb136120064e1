/// Thrown by a transport's request writer when the server has already closed the call's stream
/// (it answered early, or the stream was reset). The call's outcome is then whatever the response
/// side reports: a server may send its whole response, status included, before the client has
/// finished sending (RFC 9113 §8.1), and that response stands.
public struct OutboundClosedError: Error, Sendable, Hashable {
    public init() {}
}
