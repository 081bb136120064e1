import ExecboxHTTP2
import ExecboxRPC
import NIOCore

/// The request messages of one call, decoded from the HTTP/2 body as they arrive.
struct GRPCRequestMessages: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    typealias Failure = any Error

    let body: HTTP2InboundBody
    let maxMessageBytes: Int

    func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator(), decoder: GRPCFrameDecoder(maxMessageBytes: maxMessageBytes))
    }

    struct Iterator: AsyncIteratorProtocol {
        var body: HTTP2InboundBody.AsyncIterator
        var decoder: GRPCFrameDecoder

        mutating func next() async throws -> [UInt8]? {
            while true {
                if let message = try decoder.next() { return message }
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
