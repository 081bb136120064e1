import ExecboxRPC
import NIOCore
import Synchronization
import Testing

@testable import ExecboxGateway

@Suite struct ResponderTests {
    final class Sink: ResponseSink {
        let heads = Mutex<[Int]>([])
        let aborted = Atomic(false)

        var headWritten: Bool { !heads.withLock { $0.isEmpty } }
        func writeHead(status: Int, headers: [(String, String)]) async throws { heads.withLock { $0.append(status) } }
        func writeBody(_ chunk: ByteBuffer) async throws {}
        func finish() async throws {}
        func abort() { aborted.store(true, ordering: .relaxed) }
    }

    @Test func aFailureAfterTheHeadAbortsInsteadOfSendingASecondHead() async throws {
        let sink = Sink()
        let responder = Responder(sink: sink, requestID: "r", cors: nil, isHead: false)
        try await responder.start(status: 200, headers: [])
        await responder.fail(GatewayError.internalError)
        #expect(sink.heads.withLock { $0 } == [200])
        let aborted = sink.aborted.load(ordering: .relaxed)
        #expect(aborted)
    }

    @Test func aFailureBeforeTheHeadIsAnErrorResponse() async {
        let sink = Sink()
        await Responder(sink: sink, requestID: "r", cors: nil, isHead: false).fail(.notFound)
        #expect(sink.heads.withLock { $0 } == [404])
        let aborted = sink.aborted.load(ordering: .relaxed)
        #expect(!aborted)
    }

    @Test func statusesFollowTheOneTable() {
        #expect(GatewayError(.init(code: .notFound, message: "x")).status == 404)
        #expect(GatewayError(.init(code: .failedPrecondition, message: "x")).status == 409)
        #expect(GatewayError(.init(code: .resourceExhausted, message: "x")).status == 429)
        #expect(GatewayError(.init(code: .resourceExhausted, message: "x")).retryAfterSeconds == 1)
        #expect(GatewayError(.init(code: .unimplemented, message: "x")).status == 501)
        #expect(GatewayError(.init(code: .unavailable, message: "x")).status == 503)
        #expect(GatewayError(.init(code: .deadlineExceeded, message: "x")).status == 504)
        let hidden = GatewayError(.init(code: .internal, message: "secret /var/lib/path"))
        #expect(hidden.status == 500)
        #expect(hidden.detail == "internal error")
    }
}
