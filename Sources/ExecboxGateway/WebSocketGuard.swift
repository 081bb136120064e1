import NIOCore
import NIOWebSocket

/// Between NIOWebSocket's decoder and its fragment aggregator: the RFC 6455 rules the decoder
/// leaves to the server. Client frames must be masked (§5.1), carry no RSV bits (no extension was
/// negotiated, §5.2) and use a defined opcode (§5.2).
final class WebSocketFrameGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    struct Violation: Error {
        let code: WebSocketErrorCode
        let reason: String
    }

    static let definedOpcodes: Set<WebSocketOpcode> = [.continuation, .text, .binary, .connectionClose, .ping, .pong]

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.maskKey == nil {
            context.fireErrorCaught(Violation(code: .protocolError, reason: "client frames must be masked"))
        } else if frame.rsv1 || frame.rsv2 || frame.rsv3 {
            context.fireErrorCaught(Violation(code: .protocolError, reason: "reserved bits set"))
        } else if !Self.definedOpcodes.contains(frame.opcode) {
            context.fireErrorCaught(Violation(code: .protocolError, reason: "reserved opcode"))
        } else {
            context.fireChannelRead(data)
        }
    }
}

/// After the aggregator: turns any protocol error (decoder, guard, aggregator) into a Close frame
/// with its code (1009 for sizes, 1002 otherwise), then stops sending and lingers a moment before
/// closing, so the client reads the Close instead of a reset while it is still sending. The
/// connection's task sees the connection end, not the error.
final class WebSocketErrorCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    static let linger: TimeAmount = .seconds(1)
    /// Input read and dropped while the Close goes out (enough for the rest of one over-size
    /// message); beyond it the server stops reading.
    static let discardBudget = (1 << 24) + (1 << 20)
    private var closing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        closing = true
        // From now on raw input is counted and dropped instead of decoded, up to a budget.
        let operations = context.pipeline.syncOperations
        if let decoder = try? operations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self) {
            try? operations.addHandler(InputDiscarder(budget: Self.discardBudget), position: .before(decoder))
            operations.removeHandler(decoder, promise: nil)
        }
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: Self.code(for: error))
        let loopBound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .whenComplete { _ in
                let context = loopBound.value
                context.close(mode: .output, promise: nil)
                context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) {
                    loopBound.value.close(promise: nil)
                }
            }
    }

    static func code(for error: any Error) -> WebSocketErrorCode {
        switch error {
        case let violation as WebSocketFrameGuard.Violation: violation.code
        case NIOWebSocketError.invalidFrameLength: .messageTooLarge
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge,
            NIOWebSocketFrameAggregator.Error.tooManyFragments:
            .messageTooLarge
        default: .protocolError
        }
    }
}

/// Drops raw input after a protocol error while the Close frame goes out, so a client still sending
/// is not reset before it can read the Close; past `budget` bytes it stops reading altogether.
final class InputDiscarder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var left: Int

    init(budget: Int) {
        self.left = budget
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        left -= unwrapInboundIn(data).readableBytes
        if left <= 0 { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }
}
