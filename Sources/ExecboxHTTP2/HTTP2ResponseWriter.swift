public import NIOCore

/// Writes one stream's response. Calls hop to the connection's event loop; `writeBody` suspends
/// while the stream's unsent bytes are above the high watermark, so a handler producing faster
/// than the peer reads is slowed to the peer's pace.
public struct HTTP2ResponseWriter: Sendable {
    /// The stream's state, which lives on its connection's event loop and is touched only there.
    /// One reference: the writer is copied into every handler call.
    let stream: HTTP2StreamState

    var eventLoop: any EventLoop { stream.eventLoop }

    /// Sends the response head. With `endStream` the response is complete (e.g. gRPC Trailers-Only).
    nonisolated(nonsending) public func writeHead(status: Int, headers: HTTP2Headers = [:], endStream: Bool = false)
        async throws
    {
        // `:status` goes first and pseudo-header fields in `headers` are left out as the head is
        // laid out for nghttp2 (no intermediate header array). Each call runs directly when the
        // handler task is on the connection's event loop (the usual case, see
        // EventLoopTaskExecutor), else through a hop. The direct path builds no closure: these run
        // once per response and their allocations showed in profiles.
        if stream.isOnLoop {
            try stream.withHandler {
                try $0.submitResponse(stream, status: status, headers: headers, endStream: endStream)
            }
            return
        }
        try await stream.eventLoop.submit { [stream] in
            try stream.handler.submitResponse(stream, status: status, headers: headers, endStream: endStream)
        }.get()
    }

    nonisolated(nonsending) public func writeBody(_ chunk: ByteBuffer) async throws {
        guard chunk.readableBytes > 0 else { return }
        let drained: EventLoopFuture<Void>?
        if stream.isOnLoop {
            drained = try stream.withHandler { try $0.enqueue(stream, chunk) }
        } else {
            drained = try await stream.eventLoop.submit { [stream] in
                try stream.handler.enqueue(stream, chunk)
            }.get()
        }
        try await drained?.get()
    }

    /// Ends the response, with trailers if any (gRPC puts its status there).
    nonisolated(nonsending) public func finish(trailers: HTTP2Headers? = nil) async throws {
        if stream.isOnLoop {
            try stream.withHandler { try $0.finish(stream, trailers: trailers) }
            return
        }
        try await stream.eventLoop.submit { [stream] in
            try stream.handler.finish(stream, trailers: trailers)
        }.get()
    }

    /// Resets the stream (RST_STREAM with `errorCode`, default INTERNAL_ERROR).
    public func reset(errorCode: UInt32 = 2) {
        let stream = self.stream
        stream.eventLoop.execute {
            stream.handler.reset(stream, errorCode: errorCode)
        }
    }
}
