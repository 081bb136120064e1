import ExecboxHTTP2
import ExecboxRPC
import Testing

@testable import ExecboxGRPC

/// HTTP/2 failures met by a call to the status gRPC's table gives them (PROTOCOL-HTTP2.md,
/// "Errors").
struct GRPCResetMappingTests {
    @Test(arguments: [
        (UInt32(0x0), RPCError.Code.internal),  // NO_ERROR before the status: the call never ended
        (0x1, .internal), (0x2, .internal), (0x3, .internal), (0x4, .internal), (0x5, .internal),
        (0x6, .internal),
        (0x7, .unavailable),  // REFUSED_STREAM: the server did not process it
        (0x8, .cancelled),
        (0x9, .internal), (0xa, .internal),
        (0xb, .resourceExhausted),  // ENHANCE_YOUR_CALM
        (0xc, .permissionDenied),  // INADEQUATE_SECURITY
        (0xd, .internal),  // HTTP_1_1_REQUIRED
        (0x1234, .internal),
    ])
    func aResetMapsByItsCode(resetCode: UInt32, expected: RPCError.Code) {
        let error = HTTP2Error(.streamClosed, "stream 1 was reset", resetCode: resetCode)
        #expect(GRPCResponseMessages.code(for: error) == expected)
    }

    @Test func aLostConnectionIsUnavailable() {
        #expect(GRPCResponseMessages.code(for: HTTP2Error(.connectionClosed, "the connection closed")) == .unavailable)
        #expect(GRPCResponseMessages.code(for: HTTP2Error(.protocolError, "bad frame")) == .unavailable)
    }

    @Test func aMappedFailureCarriesItsCauseAndMessage() async {
        let failure = HTTP2Error(.streamClosed, "stream 3 was reset (error 8)", resetCode: 8)
        let error = await #expect(throws: RPCError.self) {
            try await GRPCResponseMessages.mapped { () async throws -> Void in throw failure }
        }
        #expect(error?.code == .cancelled)
        #expect(error?.message == failure.message)
    }
}
