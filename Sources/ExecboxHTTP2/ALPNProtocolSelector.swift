import NIOCore

/// The TLS counterpart of ``ProtocolDetector``: installs a ``TLSHandler`` and, once the handshake
/// is done, configures the pipeline for what ALPN chose ("h2" → HTTP/2, "http/1.1" or nothing →
/// HTTP/1.1), replaying any plaintext that arrived meanwhile. It steps aside at the first
/// plaintext byte; a peer that sends none within the preface timeout is closed.
final class ALPNProtocolSelector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        case waiting, configuring, forwarding
    }

    private let decided: EventLoopPromise<AcceptedConnection>
    private let configure: (any Channel, Bool) -> EventLoopFuture<AcceptedConnection>
    private let prefaceTimeout: TimeAmount
    private var buffered: [ByteBuffer] = []
    private var phase = Phase.waiting
    private var timeout: Scheduled<Void>?

    init(
        decided: EventLoopPromise<AcceptedConnection>,
        prefaceTimeout: TimeAmount,
        configure: @escaping (any Channel, Bool) -> EventLoopFuture<AcceptedConnection>
    ) {
        self.decided = decided
        self.prefaceTimeout = prefaceTimeout
        self.configure = configure
    }

    static func install(
        on channel: any Channel,
        tls: TLSContext,
        configuration: HTTP2Configuration,
        serverConfiguration: HTTP2ServerConfiguration,
        registry: ConnectionRegistry,
        http1: @escaping HTTP2Server.HTTP1Initializer
    ) -> EventLoopFuture<AcceptedConnection> {
        let promise = channel.eventLoop.makePromise(of: AcceptedConnection.self)
        let selector = ALPNProtocolSelector(
            decided: promise, prefaceTimeout: serverConfiguration.prefaceTimeout
        ) { channel, isHTTP2 in
            ProtocolDetector.configurePipeline(
                channel: channel,
                isHTTP2: isHTTP2,
                configuration: configuration,
                serverConfiguration: serverConfiguration,
                registry: registry,
                http1: http1
            )
        }
        do {
            // The TLS handler's handshake timeout bounds the time to a decision.
            try channel.pipeline.syncOperations.addHandlers([TLSHandler(tls: tls), selector])
        } catch {
            promise.fail(error)
            channel.close(promise: nil)
        }
        return promise.futureResult
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard phase == .waiting, let handshake = event as? TLSHandshakeCompleted else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        phase = .configuring
        if buffered.isEmpty {
            let channel = context.channel
            timeout = context.eventLoop.scheduleTask(in: prefaceTimeout) { channel.close(promise: nil) }
        }
        configure(context.channel, handshake.alpn == "h2").assumeIsolated().whenComplete { result in
            switch result {
            case .success(let connection):
                self.phase = .forwarding
                self.decided.succeed(connection)
                let buffered = self.buffered
                self.buffered.removeAll()
                for chunk in buffered { context.fireChannelRead(self.wrapInboundOut(chunk)) }
                if !buffered.isEmpty {
                    context.fireChannelReadComplete()
                    self.stepAside(context: context)
                }
            case .failure(let error):
                self.decided.fail(error)
                context.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .forwarding {
            context.fireChannelRead(data)
            stepAside(context: context)
        } else {
            timeout?.cancel()
            timeout = nil
            buffered.append(unwrapInboundIn(data))
        }
    }

    /// The first plaintext arrived: the protocol's own timeouts take over from here.
    private func stepAside(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .forwarding { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase == .waiting {
            phase = .forwarding
            decided.succeed(.closed)
        }
        context.fireChannelInactive()
    }
}
