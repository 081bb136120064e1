public import NIOCore
public import NIOPosix

/// One client connection (cleartext HTTP/2 by prior knowledge) carrying many concurrent streams.
public final class HTTP2ClientConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<HTTP2ConnectionHandler>

    private init(channel: any Channel, handler: NIOLoopBound<HTTP2ConnectionHandler>) {
        self.channel = channel
        self.handler = handler
    }

    public static func connect(
        host: String,
        port: Int,
        configuration: HTTP2Configuration = HTTP2Configuration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> HTTP2ClientConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port)
            .get()
        let handler = try await channel.eventLoop.submit {
            let handler = HTTP2ConnectionHandler(configuration: configuration, mode: .client)
            try channel.pipeline.syncOperations.addHandler(handler)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }.get()
        return HTTP2ClientConnection(channel: channel, handler: handler)
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
            (":method", method), (":scheme", "http"), (":path", path),
            (
                ":authority",
                channel.remoteAddress.map { "\($0.ipAddress ?? "localhost"):\($0.port ?? 0)" } ?? "localhost"
            ),
        ])
        for field in headers.fields where !field.name.hasPrefix(":") { fields.add(field.name, field.value) }
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
