import NIOCore
import Testing

@testable import ExecboxHTTP2

/// The module's one error type: codes, equality, and nghttp2's return code kept as the cause.
struct HTTP2ErrorTests {
    @Test func aBrokenPrefaceIsAProtocolErrorWithNghttp2sCodeAsItsCause() throws {
        let session = try HTTP2Session(mode: .server, configuration: HTTP2Configuration())
        let error = try #require(throws: HTTP2Error.self) {
            try session.receive(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        }
        #expect(error.code == .protocolError)
        #expect(error.message.hasPrefix("HTTP/2 protocol error: "))
        let cause = try #require(error.cause as? NGHTTP2LibraryError)
        #expect(cause.code < 0)
        #expect(error.message.hasSuffix(errorString(cause.code)))
    }

    @Test func equalityIgnoresTheCause() {
        let a = HTTP2Error(.protocolError, "x", cause: NGHTTP2LibraryError(code: -505))
        let b = HTTP2Error(.protocolError, "x")
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(HTTP2Error(.streamClosed, "x", resetCode: 8) != HTTP2Error(.streamClosed, "x", resetCode: 0))
    }

    @Test func tlsCodesAreTold() {
        #expect(HTTP2Error.Code.tlsConfiguration.isTLS)
        #expect(HTTP2Error.Code.tlsHandshake.isTLS)
        #expect(HTTP2Error.Code.tlsConnection.isTLS)
        #expect(!HTTP2Error.Code.connectionClosed.isTLS)
        #expect(!HTTP2Error.Code.protocolError.isTLS)
    }
}
