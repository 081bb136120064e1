import NIOCore
import NIOHTTP1
import NIOWebSocket

/// What an HTTP/1.1 connection carries to and from its task: HTTP parts until a WebSocket upgrade,
/// WebSocket frames after it. One async channel type for both, so the upgrade keeps the channel.
enum GatewayInbound: Sendable {
    case http(HTTPServerRequestPart)
    case webSocket(WebSocketFrame)
}

enum GatewayOutbound: Sendable {
    case http(HTTPServerResponsePart)
    case webSocket(WebSocketFrame)
}

/// Between NIOHTTP1's handlers and the connection's async channel.
final class HTTPPartsAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = GatewayInbound
    typealias OutboundIn = GatewayOutbound
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.http(unwrapInboundIn(data))))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .http(let part) = unwrapOutboundIn(data) else {
            promise?.fail(ChannelError.inappropriateOperationForState)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }
}

/// Between NIOWebSocket's handlers and the connection's async channel, after the upgrade.
final class WebSocketFramesAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = GatewayInbound
    typealias OutboundIn = GatewayOutbound
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.webSocket(unwrapInboundIn(data))))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .webSocket(let frame) = unwrapOutboundIn(data) else {
            promise?.fail(ChannelError.inappropriateOperationForState)
            return
        }
        context.write(wrapOutboundOut(frame), promise: promise)
    }
}
