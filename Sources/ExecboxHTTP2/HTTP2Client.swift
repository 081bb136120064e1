import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix

/// One client connection (cleartext HTTP/2 by prior knowledge, or TLS with ALPN h2) carrying many
/// concurrent streams.
public final class HTTP2ClientConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<HTTP2ConnectionHandler>
    let scheme: String
    /// `:authority` of every request: the host and port as the caller named them (the name the
    /// TLS certificate was checked against, not the resolved address).
    let authority: String

    private init(
        channel: any Channel,
        handler: NIOLoopBound<HTTP2ConnectionHandler>,
        scheme: String,
        authority: String
    ) {
        self.channel = channel
        self.handler = handler
        self.scheme = scheme
        self.authority = authority
    }

    /// With `tls`, the connection is TLS (ALPN must choose h2) and the server's certificate is
    /// verified against `host` unless `tls.insecureSkipVerify`; a failed handshake throws.
    public static func connect(
        host: String,
        port: Int,
        configuration: HTTP2Configuration = .client,
        tls: TLSConfiguration? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> HTTP2ClientConnection {
        let tlsContext = try tls.map { try TLSContext(configuration: $0) }
        // The handlers go in before the connection reads anything: a server may send its
        // SETTINGS the moment it accepts (grpc-core does), and nghttp2 must see that frame first.
        let installed = NIOLockedValueBox<(NIOLoopBound<HTTP2ConnectionHandler>, EventLoopFuture<String?>?)?>(nil)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var handshake: EventLoopFuture<String?>?
                    if let tlsContext {
                        let promise = channel.eventLoop.makePromise(of: String?.self)
                        handshake = promise.futureResult
                        try channel.pipeline.syncOperations.addHandler(
                            TLSHandler(tls: tlsContext, serverName: host, handshakePromise: promise))
                    }
                    let handler = HTTP2ConnectionHandler(configuration: configuration, mode: .client)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    installed.withLockedValue { $0 = (NIOLoopBound(handler, eventLoop: channel.eventLoop), handshake) }
                }
            }
            .connect(host: host, port: port)
            .get()
        guard let (handler, handshake) = installed.withLockedValue({ $0 }) else {
            try? await channel.close()
            throw HTTP2Error(.connectionClosed, "the connection could not be set up")
        }
        if let handshake {
            do {
                let alpn = try await handshake.get()
                guard alpn == "h2" else {
                    throw HTTP2Error(.tlsHandshake, "the server did not choose h2 by ALPN (\(alpn ?? "none"))")
                }
            } catch {
                try? await channel.close()
                throw error
            }
        }
        return HTTP2ClientConnection(
            channel: channel,
            handler: handler,
            scheme: tls == nil ? "http" : "https",
            authority: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        )
    }

    /// False once the connection closed or the server sent GOAWAY: open a new one.
    public var isUsable: Bool {
        get async {
            (try? await channel.eventLoop.submit { [handler] in handler.value.isUsable }.get()) ?? false
        }
    }

    /// Starts a request. Pseudo-headers `:method`, `:path`, `:scheme` and `:authority` are
    /// filled in from `method` and `path` unless `headers` has them.
    public func openStream(
        method: String,
        path: String,
        headers: HTTP2Headers = [:],
        endStream: Bool = false
    ) async throws -> HTTP2ClientStream {
        var fields = HTTP2Headers([
            (":method", method), (":scheme", scheme), (":path", path), (":authority", authority),
        ])
        for field in headers where !field.name.hasPrefix(":") { fields.add(field.name, field.value) }
        let request = fields
        let (id, head, body) = try await channel.eventLoop.submit { [handler] in
            try handler.value.openStream(headers: request, endStream: endStream)
        }.get()
        return HTTP2ClientStream(streamID: id, connection: handler, responseHead: head, body: body)
    }

    public func close() async throws {
        try await channel.close()
    }
}

/// One request in flight: write the body, then read the response.
public struct HTTP2ClientStream: Sendable {
    public let streamID: Int32
    let connection: NIOLoopBound<HTTP2ConnectionHandler>
    let responseHead: EventLoopFuture<HTTP2Headers>
    /// The response body; its `trailers` are available once it ends.
    public let body: HTTP2InboundBody

    public func writeBody(_ chunk: ByteBuffer) async throws {
        let drained = try await connection.eventLoop.submit { [connection, streamID] in
            try connection.value.enqueue(streamID: streamID, chunk)
        }.get()
        try await drained?.get()
    }

    /// Ends the request body (END_STREAM), with trailers if any.
    public func finish(trailers: HTTP2Headers? = nil) async throws {
        try await connection.eventLoop.submit { [connection, streamID] in
            try connection.value.finish(streamID: streamID, trailers: trailers)
        }.get()
    }

    /// The response head (`:status` included).
    public func response() async throws -> HTTP2Headers {
        try await responseHead.get()
    }

    public func reset(errorCode: UInt32 = 8) {
        connection.eventLoop.execute { [connection, streamID] in
            connection.value.reset(streamID: streamID, errorCode: errorCode)
        }
    }
}
