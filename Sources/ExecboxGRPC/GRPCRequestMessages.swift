import ExecboxHTTP2
import ExecboxRPC
import NIOCore

/// The request messages of one call, decoded (and decompressed) from the HTTP/2 body as they
/// arrive; each message's compressed flag is recorded in the call state before it is handed out.
struct GRPCRequestMessages: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    typealias Failure = any Error

    let body: HTTP2InboundBody
    let maxMessageBytes: Int
    let call: ServerCallState

    func makeAsyncIterator() -> Iterator {
        Iterator(
            body: body.makeAsyncIterator(),
            decoder: GRPCFrameDecoder(maxMessageBytes: maxMessageBytes, encoding: call.requestEncoding),
            call: call
        )
    }

    struct Iterator: AsyncIteratorProtocol {
        var body: HTTP2InboundBody.AsyncIterator
        var decoder: GRPCFrameDecoder
        let call: ServerCallState

        mutating func next() async throws -> [UInt8]? {
            while true {
                if let message = try decoder.next() {
                    call.recordRequestMessage(compressed: message.compressed)
                    return message.bytes
                }
                guard let chunk = try await body.next() else {
                    if decoder.hasPartialMessage {
                        throw RPCError(code: .internal, message: "the request ended inside a message")
                    }
                    return nil
                }
                decoder.append(chunk)
            }
        }
    }
}
