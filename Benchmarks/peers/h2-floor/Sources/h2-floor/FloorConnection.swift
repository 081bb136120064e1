// The connection handler, its streams and nghttp2's callbacks (see main.swift).
import CNghttp2Floor
import NIOCore
import NIOPosix

/// `--inline`: answer inside the read, with no task per request.
let inline = CommandLine.arguments.contains("--inline")
/// `--task-per-stream`: a new task for every stream, instead of a task serving streams in turn.
let taskPerStream = CommandLine.arguments.contains("--task-per-stream")
let helloBody: [UInt8] = Array("hello\n".utf8)

/// One request stream, confined to its connection's event loop.
final class FloorStream: @unchecked Sendable {
    let id: Int32
    unowned let connection: FloorConnection
    var bodySent = false
    /// The task serving the stream, while it runs.
    var task: UnsafeCurrentTask?

    init(id: Int32, connection: FloorConnection) {
        self.id = id
        self.connection = connection
    }
}

/// Runs jobs on one event loop (the same as ExecboxHTTP2's EventLoopTaskExecutor).
final class LoopExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

final class FloorConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: OpaquePointer?
    private var context: ChannelHandlerContext?
    var streams: [Int32: FloorStream] = [:]
    /// Streams whose request ended in the current read.
    var completed: [FloorStream] = []
    private var pending = CircularBuffer<FloorStream>()
    private var waiter: UnsafeContinuation<Bool, Never>?
    private var ended = false
    private var flushScheduled = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_server_new(&session, callbacks, Unmanaged.passUnretained(self).toOpaque())
        nghttp2_session_callbacks_del(callbacks)
        var settings = nghttp2_settings_entry(
            settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: 100)
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, 1)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        nghttp2_session_del(session)
        session = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let rc = bytes.withUnsafeReadableBytes { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) }
        guard rc >= 0 else {
            context.close(promise: nil)
            return
        }
        if !completed.isEmpty {
            var batch: [FloorStream] = []
            swap(&batch, &completed)
            if inline {
                for stream in batch { respond(stream) }
            } else if !ended {
                pending.append(contentsOf: batch)
                waiter?.resume(returning: true)
                waiter = nil
            }
        }
        flush()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    /// Waits until requests are pending, for the connection's task: false once the connection is
    /// gone.
    nonisolated(nonsending) func waitForRequests() async -> Bool {
        if !pending.isEmpty { return true }
        if ended { return false }
        return await withUnsafeContinuation { waiter = $0 }
    }

    /// The oldest request no task has taken yet.
    func takeRequest() -> FloorStream? {
        pending.popFirst()
    }

    private func end() {
        ended = true
        pending.removeAll()
        waiter?.resume(returning: false)
        waiter = nil
    }

    /// Submits the response: HEADERS, then one DATA frame read from `helloBody`.
    func respond(_ stream: FloorStream) {
        guard let session else { return }
        let status: StaticString = ":status"
        let ok: StaticString = "200"
        let contentType: StaticString = "content-type"
        let textPlain: StaticString = "text/plain"
        var fields = [
            nameValue(status, ok),
            nameValue(contentType, textPlain),
        ]
        var provider = nghttp2_data_provider()
        provider.source.ptr = Unmanaged.passUnretained(stream).toOpaque()
        provider.read_callback = readBody
        nghttp2_submit_response(session, stream.id, &fields, fields.count, &provider)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            connection.value.flushScheduled = false
            connection.value.flush()
        }
    }

    private func flush() {
        guard let session, let context, context.channel.isActive else { return }
        var wrote = false
        while nghttp2_session_want_write(session) != 0 {
            var buffer = context.channel.allocator.buffer(capacity: 4096)
            var chunk: UnsafePointer<UInt8>?
            while case let count = nghttp2_session_mem_send(session, &chunk), count > 0 {
                buffer.writeBytes(UnsafeRawBufferPointer(start: chunk, count: count))
            }
            guard buffer.readableBytes > 0 else { break }
            context.write(wrapOutboundOut(buffer), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }
}

private func nameValue(_ name: StaticString, _ value: StaticString) -> nghttp2_nv {
    nghttp2_nv(
        name: UnsafeMutablePointer(mutating: name.utf8Start), value: UnsafeMutablePointer(mutating: value.utf8Start),
        namelen: name.utf8CodeUnitCount, valuelen: value.utf8CodeUnitCount,
        flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue))
}

private func connection(_ userData: UnsafeMutableRawPointer?) -> FloorConnection {
    Unmanaged<FloorConnection>.fromOpaque(userData!).takeUnretainedValue()
}

private let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
    let connection = connection(userData)
    let id = frame!.pointee.hd.stream_id
    connection.streams[id] = FloorStream(id: id, connection: connection)
    return 0
}

private let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
    let header = frame!.pointee.hd
    let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
    guard endStream, header.type == UInt8(NGHTTP2_HEADERS.rawValue) || header.type == UInt8(NGHTTP2_DATA.rawValue)
    else { return 0 }
    let connection = connection(userData)
    if let stream = connection.streams[header.stream_id] { connection.completed.append(stream) }
    return 0
}

private let onStreamClose: nghttp2_on_stream_close_callback = { _, id, _, userData in
    connection(userData).streams[id] = nil
    return 0
}

private let readBody: nghttp2_data_source_read_callback = { _, _, buffer, length, flags, source, _ in
    let stream = Unmanaged<FloorStream>.fromOpaque(source!.pointee.ptr).takeUnretainedValue()
    flags!.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue)
    guard !stream.bodySent else { return 0 }
    stream.bodySent = true
    let count = min(helloBody.count, length)
    helloBody.withUnsafeBufferPointer { buffer!.update(from: $0.baseAddress!, count: count) }
    return count
}

/// Serves one request in the current task, on the connection's event loop.
nonisolated(nonsending) func serve(_ stream: FloorStream) async {
    withUnsafeCurrentTask { stream.task = $0 }
    stream.connection.respond(stream)
    stream.task = nil
}

/// Serves `first`, then the connection's pending requests in turn, as HTTP2Server.serveStreams.
nonisolated(nonsending) func serveInTurn(from first: FloorStream) async {
    let connection = first.connection
    var next: FloorStream? = first
    while let stream = next {
        await serve(stream)
        if Task.isCancelled { return }
        next = connection.takeRequest()
    }
}
