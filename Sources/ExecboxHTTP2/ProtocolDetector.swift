import NIOCore
import NIOHTTP1

/// Reads the first bytes of a connection: the HTTP/2 client preface selects HTTP/2, anything
/// else HTTP/1.1. Then it configures the pipeline for that protocol and steps aside, replaying
/// what it read.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var buffered: ByteBuffer?
    private let decided: EventLoopPromise<AcceptedConnection>
    private let configure: (ChannelHandlerContext, Bool) -> EventLoopFuture<AcceptedConnection>
    private var timeout: Scheduled<Void>?
    private var done = false

    init(
        decided: EventLoopPromise<AcceptedConnection>,
        configure: @escaping (ChannelHandlerContext, Bool) -> EventLoopFuture<AcceptedConnection>
    ) {
        self.decided = decided
        self.configure = configure
    }

    static func install(
        on channel: any Channel,
        configuration: HTTP2Configuration,
        serverConfiguration: HTTP2ServerConfiguration,
        registry: ConnectionRegistry,
        http1: @escaping HTTP2Server.HTTP1Initializer
    ) -> EventLoopFuture<AcceptedConnection> {
        let promise = channel.eventLoop.makePromise(of: AcceptedConnection.self)
        let detector = ProtocolDetector(decided: promise) { context, isHTTP2 in
            configurePipeline(
                channel: context.channel,
                isHTTP2: isHTTP2,
                configuration: configuration,
                serverConfiguration: serverConfiguration,
                registry: registry,
                http1: http1
            )
        }
        do {
            try channel.pipeline.syncOperations.addHandler(detector)
        } catch {
            promise.fail(error)
        }
        let timeout = serverConfiguration.prefaceTimeout
        detector.timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak detector] in
            guard let detector, !detector.done else { return }
            detector.done = true
            promise.succeed(.closed)
            channel.close(promise: nil)
        }
        return promise.futureResult
    }

    /// Sets the pipeline up for the chosen protocol (shared by the cleartext detector and the
    /// TLS ALPN selector).
    static func configurePipeline(
        channel: any Channel,
        isHTTP2: Bool,
        configuration: HTTP2Configuration,
        serverConfiguration: HTTP2ServerConfiguration,
        registry: ConnectionRegistry,
        http1: @escaping HTTP2Server.HTTP1Initializer
    ) -> EventLoopFuture<AcceptedConnection> {
        if isHTTP2 {
            return channel.eventLoop.makeCompletedFuture {
                let handler = HTTP2ConnectionHandler(configuration: configuration)
                let id = ObjectIdentifier(handler)
                registry.add(NIOLoopBound(handler, eventLoop: channel.eventLoop), id: id)
                handler.onRemoved = { registry.remove(id: id) }
                try channel.pipeline.syncOperations.addHandler(handler)
                return .http2(channel, NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }
        }
        return channel.pipeline.configureHTTPServerPipeline().flatMap {
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    HTTP1RequestHeadTimeout(timeout: serverConfiguration.http1RequestHeadTimeout),
                    name: HTTP2Server.http1RequestHeadTimeoutName
                )
            }
        }.flatMap {
            http1(channel)
        }.map { .http1(channel, $0) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        guard !done else { return }
        if buffered == nil {
            buffered = chunk
        } else {
            buffered!.writeBuffer(&chunk)
        }
        let seen = buffered!.readableBytesView.prefix(Self.preface.count)
        if !seen.elementsEqual(Self.preface.prefix(seen.count)) {
            decide(context: context, isHTTP2: false)
        } else if seen.count == Self.preface.count {
            decide(context: context, isHTTP2: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            timeout?.cancel()
            decided.succeed(.closed)
        }
        context.fireChannelInactive()
    }

    private func decide(context: ChannelHandlerContext, isHTTP2: Bool) {
        done = true
        timeout?.cancel()
        configure(context, isHTTP2).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let connection):
                self.decided.succeed(connection)
                if let buffered = self.buffered {
                    self.buffered = nil
                    context.fireChannelRead(self.wrapInboundOut(buffered))
                    context.fireChannelReadComplete()
                }
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            case .failure(let error):
                self.decided.fail(error)
                context.close(promise: nil)
            }
        }
    }
}

/// The HTTP/1.1 side until the REST gateway takes it: every request gets 404 with a JSON body.
final class HTTP1NotFoundHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = #"{"error":"not_found","code":"not_found","status":404,"title":"Not Found"}"#
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// A request NIO could not parse has had its 400; the connection is not reusable.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
