public import NIOCore

/// Writes one stream's response. Calls hop to the connection's event loop; `writeBody` suspends
/// while the stream's unsent bytes are above the high watermark, so a handler producing faster
/// than the peer reads is slowed to the peer's pace.
public struct HTTP2ResponseWriter: Sendable {
    let streamID: Int32
    let connection: NIOLoopBound<HTTP2ConnectionHandler>

    var eventLoop: any EventLoop { connection.eventLoop }

    /// Sends the response head. With `endStream` the response is complete (e.g. gRPC Trailers-Only).
    nonisolated(nonsending) public func writeHead(status: Int, headers: HTTP2Headers = [:], endStream: Bool = false)
        async throws
    {
        var head = HTTP2Headers([(":status", String(status))])
        for field in headers.fields where !field.name.hasPrefix(":") { head.add(field.name, field.value) }
        let fields = head
        try await onEventLoop { [streamID] connection in
            try connection.submitResponse(streamID: streamID, headers: fields, endStream: endStream)
        }
    }

    nonisolated(nonsending) public func writeBody(_ chunk: ByteBuffer) async throws {
        guard chunk.readableBytes > 0 else { return }
        let drained = try await onEventLoop { [streamID] connection in
            try connection.enqueue(streamID: streamID, chunk)
        }
        try await drained?.get()
    }

    /// Ends the response, with trailers if any (gRPC puts its status there).
    nonisolated(nonsending) public func finish(trailers: HTTP2Headers? = nil) async throws {
        try await onEventLoop { [streamID] connection in
            try connection.finish(streamID: streamID, trailers: trailers)
        }
    }

    /// Runs `body` on the connection's event loop: directly when the handler task already runs
    /// there (the usual case, see EventLoopTaskExecutor), else through a hop.
    nonisolated(nonsending) private func onEventLoop<T: Sendable>(
        _ body: @escaping @Sendable (HTTP2ConnectionHandler) throws -> T
    ) async throws -> T {
        if eventLoop.inEventLoop {
            return try body(connection.value)
        }
        return try await eventLoop.submit { [connection] in try body(connection.value) }.get()
    }

    /// Resets the stream (RST_STREAM with `errorCode`, default INTERNAL_ERROR).
    public func reset(errorCode: UInt32 = 2) {
        eventLoop.execute { [connection, streamID] in
            connection.value.reset(streamID: streamID, errorCode: errorCode)
        }
    }
}
