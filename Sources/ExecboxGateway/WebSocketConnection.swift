import NIOCore
import NIOWebSocket
import Synchronization

/// What a route hands the connection when it accepts a WebSocket: the sub-protocol to select, and
/// the work to run on the upgraded connection.
struct WebSocketPlan: Sendable {
    let subprotocol: String?
    let requestID: String
    let run: @Sendable (WebSocketConnection) async -> Void
}

/// An upgraded connection: whole messages in (NIOWebSocket reassembles fragments, answers protocol
/// errors with a close), frames out.
struct WebSocketConnection: Sendable {
    let inbound: SharedIterator<NIOAsyncChannelInboundStream<GatewayInbound>.AsyncIterator>
    let outbound: NIOAsyncChannelOutboundWriter<GatewayOutbound>
    let subprotocol: String
    /// When the peer was last heard from (any frame), for the keepalive.
    let lastHeard = LastHeard()

    final class LastHeard: Sendable {
        private let instant = Mutex(ContinuousClock.now)

        func withLock<R: Sendable>(_ body: (inout ContinuousClock.Instant) -> R) -> R {
            instant.withLock { body(&$0) }
        }
    }

    init(
        inbound: SharedIterator<NIOAsyncChannelInboundStream<GatewayInbound>.AsyncIterator>,
        outbound: NIOAsyncChannelOutboundWriter<GatewayOutbound>, subprotocol: String
    ) {
        self.inbound = inbound
        self.outbound = outbound
        self.subprotocol = subprotocol
    }

    /// The next frame from the peer; nil once the connection ended.
    func receive() async -> WebSocketFrame? {
        guard case .webSocket(let frame)? = try? await inbound.next() else { return nil }
        lastHeard.withLock { $0 = .now }
        return frame
    }

    func send(_ frame: WebSocketFrame) async throws {
        try await outbound.write(.webSocket(frame))
    }

    func send(_ message: LegacyFrame) async throws {
        try await send(WebSocketFrame(fin: true, opcode: .binary, data: message.encode()))
    }

    /// A close frame with `code` (RFC 6455 §7.4) and a short reason.
    func close(_ code: WebSocketErrorCode, reason: String = "") async {
        var data = ByteBuffer()
        data.write(webSocketErrorCode: code)
        data.writeString(String(reason.utf8.prefix(120)) ?? "")
        try? await send(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
    }
}
