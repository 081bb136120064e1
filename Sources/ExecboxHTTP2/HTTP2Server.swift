public import NIOCore
import NIOHTTP1
public import NIOPosix

/// The listener: cleartext HTTP/2 by prior knowledge and HTTP/1.1 on one port (the protocol is
/// chosen by the connection preface), or, with a certificate, TLS only (ALPN chooses). Each
/// connection is a child task, each stream is served in a child task of its connection (one that
/// serves the streams of a read in turn while none of their handlers waits); cancelling `run`
/// closes the listener and every connection.
public final class HTTP2Server: Sendable {
    /// Serves one request stream. Returning or throwing with the response unfinished resets the
    /// stream with INTERNAL_ERROR; a complete response stands either way, and if the client is still
    /// sending the request body, which nothing reads once the handler has returned, the server stops
    /// it with RST_STREAM NO_ERROR after the response's end (a body kept past the handler then
    /// fails with `streamClosed`). Runs on the serving task's executor (the connection's event
    /// loop), with no hop to start.
    public typealias Handler =
        nonisolated(nonsending) @Sendable (
            HTTP2ServerRequest, HTTP2ResponseWriter
        ) async throws -> Void
    /// Installs the HTTP/1.1 side (after NIOHTTP1's codec) for a connection that did not open
    /// with the HTTP/2 preface. It may return the connection's work, which then runs as the
    /// connection's child task on its event loop (nil: channel handlers do all the work).
    public typealias HTTP1Initializer = @Sendable (any Channel) -> EventLoopFuture<HTTP1Connection?>
    /// Serves one HTTP/1.1 connection until it is done; cancelled when the listener stops.
    public typealias HTTP1Connection = @Sendable () async -> Void
    /// The name of the handler that times out slow HTTP/1.1 request heads: a connection that
    /// switches protocols (WebSocket) removes it with the rest of the HTTP/1.1 handlers.
    public static let http1RequestHeadTimeoutName = "execbox.http1.request-head-timeout"

    private let serverChannel: NIOAsyncChannel<EventLoopFuture<AcceptedConnection>, Never>
    private let registry: ConnectionRegistry
    /// The listener's certificate and key, when it serves TLS.
    public let tls: TLSContext?

    /// The bound address (with the real port when bound to port 0).
    public let localAddress: SocketAddress

    private init(
        serverChannel: NIOAsyncChannel<EventLoopFuture<AcceptedConnection>, Never>,
        registry: ConnectionRegistry,
        tls: TLSContext?,
        localAddress: SocketAddress
    ) {
        self.serverChannel = serverChannel
        self.registry = registry
        self.tls = tls
        self.localAddress = localAddress
    }

    /// Re-reads the certificate chain and key; new connections use them, open ones keep theirs.
    /// On failure (the files are missing, unreadable or do not match) the old pair stays in use.
    public func reloadTLS() throws {
        try tls?.reload()
    }

    /// Stops accepting, sends GOAWAY on every connection, lets in-flight streams finish for up to
    /// `gracePeriod`, then closes what is left. `run` returns once every connection has ended.
    public func shutdownGracefully(gracePeriod: TimeAmount = .seconds(10)) {
        serverChannel.channel.close(promise: nil)
        for connection in registry.beginShutdown() {
            connection.eventLoop.execute {
                connection.value.beginShutdown(grace: gracePeriod)
            }
        }
    }

    public static func bind(
        host: String,
        port: Int,
        configuration: HTTP2Configuration = HTTP2Configuration(),
        serverConfiguration: HTTP2ServerConfiguration = HTTP2ServerConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        http1: HTTP1Initializer? = nil,
        tls: TLSConfiguration? = nil
    ) async throws -> HTTP2Server {
        // Bad certificate or key files fail here, before the port is bound.
        let tlsContext = try tls.map { try TLSContext(configuration: $0) }
        let http1 =
            http1 ?? { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1NotFoundHandler())
                    return nil
                }
            }
        let registry = ConnectionRegistry(
            maxConnectionsPerIP: serverConfiguration.maxConnectionsPerIP,
            limitLoopback: serverConfiguration.limitLoopbackConnections
        )
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                // Reading starts only once this future completes, so it must not wait for the
                // preface: it hands over the detection's own future instead.
                let ip = channel.remoteAddress?.ipAddress
                guard registry.admit(ip: ip) else {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededFuture(
                        channel.eventLoop.makeSucceededFuture(AcceptedConnection.closed))
                }
                channel.closeFuture.whenComplete { _ in registry.release(ip: ip) }
                if let tlsContext {
                    return channel.eventLoop.makeSucceededFuture(
                        ALPNProtocolSelector.install(
                            on: channel,
                            tls: tlsContext,
                            configuration: configuration,
                            serverConfiguration: serverConfiguration,
                            registry: registry,
                            http1: http1
                        )
                    )
                }
                return channel.eventLoop.makeSucceededFuture(
                    ProtocolDetector.install(
                        on: channel,
                        configuration: configuration,
                        serverConfiguration: serverConfiguration,
                        registry: registry,
                        http1: http1
                    )
                )
            }
        guard let address = channel.channel.localAddress else {
            throw HTTP2Error(.invalidState, "the listener has no local address")
        }
        return HTTP2Server(serverChannel: channel, registry: registry, tls: tlsContext, localAddress: address)
    }

    /// Serves until cancelled.
    public func run(handler: @escaping Handler) async throws {
        try await serverChannel.executeThenClose { connections in
            await withDiscardingTaskGroup { group in
                do {
                    for try await detection in connections {
                        group.addTask(executorPreference: EventLoopTaskExecutor(detection.eventLoop)) {
                            guard let connection = try? await detection.get() else { return }
                            await Self.serve(connection, handler: handler)
                        }
                    }
                } catch {
                    // The listener closed.
                }
            }
        }
    }

    private static func serve(_ connection: AcceptedConnection, handler: @escaping Handler) async {
        switch connection {
        case .http2(let channel, let connection):
            // This task runs on the connection's event loop (its executor preference, see `run`),
            // and so do the tasks serving its streams: no hop between them and nghttp2.
            let executor = EventLoopTaskExecutor(channel.eventLoop)
            connection.value.requestHandler = handler
            await withDiscardingTaskGroup { group in
                // Streams come in batches, those whose heads completed in one read, until the
                // connection closes. A child task starts at once on this loop and serves pending
                // streams one after another while their handlers answer without waiting; when one
                // waits, the task returns here and the streams behind it get a new task. So a
                // stream is served by a task that serves no other stream while it runs, and its
                // reset cancels that task alone (see `serveStreams`). The closure captures the
                // connection alone (no context allocation), not a stream: a task's closure lives
                // as long as the task, and a stream held there could not be reused when it closes.
                let handler = connection.value
                let confined = ConfinedConnection(handler: handler)
                while await handler.waitForOpenedStreams() {
                    while handler.pendingStreamCount > 0 {
                        let pending = handler.pendingStreamCount
                        group.addImmediateTask(executorPreference: executor) {
                            await serveStreams(of: confined)
                        }
                        // An immediate task takes its first stream before it returns here. Were it
                        // only enqueued, it would run once this task suspends: yield to it rather
                        // than start more.
                        if handler.pendingStreamCount >= pending {
                            await Task.yield()
                            break
                        }
                    }
                }
            }
            channel.close(promise: nil)
        case .http1(let channel, let serve):
            if let serve {
                await serve()
            } else {
                try? await channel.closeFuture.get()
            }
        case .closed:
            break
        }
    }

    /// Serves the connection's pending streams one at a time, until none is left or the task is
    /// cancelled: a task cancelled by one stream's reset serves no other (cancellation cannot be
    /// undone), so it ends, and the connection's task starts another for the streams left. An
    /// immediate task, it takes its first stream before the connection's task goes on.
    nonisolated(nonsending) private static func serveStreams(of confined: ConfinedConnection) async {
        let connection = confined.handler
        precondition(connection.eventLoop?.inEventLoop == true, "streams are served on their connection's event loop")
        guard let handler = connection.requestHandler else {
            // The connection's task sets the handler before it serves any stream.
            preconditionFailure("a connection's streams are served once it has a handler")
        }
        // Once per task, not per stream. The task is registered with each stream it serves, and
        // it outlives every use: `handlerFinished` clears it before the next stream.
        let task = withUnsafeCurrentTask { $0 }
        while let stream = connection.takePendingStream() {
            await serve(stream, connection: connection, handler: handler, task: task)
            if task?.isCancelled ?? Task.isCancelled { return }
        }
    }

    /// Serves one stream on its connection's event loop (the task's executor preference). The
    /// task registers itself with the stream, so a reset from the peer cancels it. Nonsending: the
    /// task's closure calls it without an executor check.
    nonisolated(nonsending) private static func serve(
        _ stream: HTTP2StreamState,
        connection: HTTP2ConnectionHandler,
        handler: Handler,
        task: UnsafeCurrentTask?
    ) async {
        if connection.registerHandler(stream, task: task) {
            let request = HTTP2ServerRequest(stream: stream)
            let response = HTTP2ResponseWriter(stream: stream)
            do {
                try await handler(request, response)
            } catch {
                // Nothing to do here: `handlerFinished` resets a response the handler left
                // unfinished (INTERNAL_ERROR), and a complete one stands (a reset now could
                // overtake its bytes still queued).
            }
        }
        // The handler returns on the task's executor, the connection's loop: the stream is
        // finished here, before the task takes another (a late reset then finds no task to cancel).
        // (`isOnLoop` compares thread ids: asking the loop would retain and release it per request.)
        precondition(stream.isOnLoop, "streams are served on their connection's event loop")
        connection.handlerFinished(stream)
    }

}

/// A connection's handler, for the tasks serving its streams, which run on its event loop (their
/// executor preference): `serveStreams` checks that before it touches the handler. Unchecked
/// Sendable for that reason; one reference, so the task's closure needs no context allocation.
private struct ConfinedConnection: @unchecked Sendable {
    let handler: HTTP2ConnectionHandler
}

/// What the preface decided for one accepted connection.
enum AcceptedConnection: Sendable {
    case http2(any Channel, NIOLoopBound<HTTP2ConnectionHandler>)
    case http1(any Channel, HTTP2Server.HTTP1Connection?)
    /// Closed before a protocol was chosen (preface timeout, garbage, or the peer left).
    case closed
}

/// Settings of the listener itself (as opposed to one connection's HTTP/2 limits).
public struct HTTP2ServerConfiguration: Sendable, Hashable {
    /// A connection must send its first bytes within this time.
    public var prefaceTimeout: TimeAmount = .seconds(10)
    /// An HTTP/1.1 connection must complete each request head within this time (slowloris), and
    /// may idle between requests no longer.
    public var http1RequestHeadTimeout: TimeAmount = .seconds(10)
    /// Connections one remote IP may hold open; more are closed on accept.
    public var maxConnectionsPerIP: Int = 64
    /// Whether the cap applies to loopback peers too (off: local load tests measure the server).
    public var limitLoopbackConnections: Bool = false

    public init() {}
}
