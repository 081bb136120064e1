/// An HTTP/2 failure with a curated description (no peer data, no internal paths).
public struct HTTP2Error: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The peer reset the stream (with this HTTP/2 error code) or the connection closed.
        case streamClosed(errorCode: UInt32)
        /// The connection is gone.
        case connectionClosed
        /// nghttp2 rejected an operation.
        case protocolError(Int32)
        /// The call was used out of order (e.g. body before head).
        case invalidState
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
