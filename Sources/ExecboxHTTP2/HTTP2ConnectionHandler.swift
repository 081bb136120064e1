internal import CNghttp2
public import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Drives one connection's nghttp2 session from NIO: bytes in through `mem_recv`, frames out
/// through `mem_send`. On the server, request streams go to the connection's task once their
/// heads are complete (`waitForOpenedStreams`, `takePendingStream`), the streams of one read
/// together.
public final class HTTP2ConnectionHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Never
    public typealias OutboundIn = Never
    public typealias OutboundOut = ByteBuffer

    private let configuration: HTTP2Configuration
    private let mode: HTTP2Session.Mode
    private var session: HTTP2Session? {
        didSet { writerSession = session.map(Unmanaged.passUnretained) }
    }
    /// `session` without a reference of its own, for the calls response writers make on every
    /// request (`writerCall`): `session` keeps it alive, and none of those calls can reach
    /// `handlerRemoved` while it runs (nghttp2 calls back only from `receive` and `drainOutput`).
    private var writerSession: Unmanaged<HTTP2Session>?
    private var context: ChannelHandlerContext?
    /// A read was asked for while the channel was not writable: resume it when it is.
    private var readPending = false
    private var flushing = false
    private var flushAgain = false
    private var flushScheduled = false
    private var closed = false
    /// GOAWAY sent for a graceful shutdown: close once the last stream ends.
    private var closeWhenIdle = false
    /// When the connection last had a stream open (for `idleTimeout`). Not `lastReceived`: a peer
    /// that only sends PINGs or SETTINGS keeps no connection alive.
    private var lastStreamActivity = NIODeadline.now()
    /// Keepalive: bytes arrived since the last idle check; when bytes last arrived; when our
    /// unanswered PING went out.
    private var receivedSinceCheck = false
    private var lastReceived = NIODeadline.now()
    private var pingSentAt: NIODeadline?
    private var idleCheck: RepeatedTask?
    /// The remote address, formatted once per connection. Set when the handler is added, before
    /// any stream exists, and never again: requests read it from any thread.
    private(set) var peer = "unknown"
    /// Serves the connection's request streams (server side); set by the connection's task
    /// before it starts any of them.
    var requestHandler: HTTP2Server.Handler?
    /// Request streams no task has taken yet; at most the streams nghttp2 lets be open at once
    /// (SETTINGS_MAX_CONCURRENT_STREAMS), so no other bound is needed.
    private var pendingStreams = CircularBuffer<HTTP2StreamState>()
    /// The connection's task, waiting in `waitForOpenedStreams`.
    private var streamsWaiter: UnsafeContinuation<Bool, Never>?
    /// No more request streams: the connection closed or its task was cancelled.
    private var streamsEnded = false
    /// Called once when the handler leaves the pipeline (the server's connection registry).
    var onRemoved: (() -> Void)?
    /// The connection's loop, for the streams it makes (set when the handler is added).
    private(set) var eventLoop: (any EventLoop)?
    /// The thread of that loop (set when the handler is added, before any stream exists).
    private(set) var loopThread = pthread_t()
    /// The body of every request whose HEADERS end its stream (a GET, say): such a request
    /// allocates no body of its own.
    private let emptyBody = HTTP2InboundBody.makeEmpty()
    /// A request head completed in the current read: the connection's task is woken after it.
    private var headsReceived = false
    /// States of closed request streams that nothing else refers to, for the next streams to
    /// reuse: at most `maxSpareStreams` (a busy connection keeps a state per stream it serves at
    /// once), let go when the connection has no stream open at its once-a-second check.
    private var spareStreams: [HTTP2StreamState] = []
    private static let maxSpareStreams = 64

    public convenience init(configuration: HTTP2Configuration) {
        self.init(configuration: configuration, mode: .server)
    }

    init(configuration: HTTP2Configuration, mode: HTTP2Session.Mode) {
        self.configuration = configuration
        self.mode = mode
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            let session = try HTTP2Session(mode: mode, configuration: configuration)
            session.connection = Unmanaged.passUnretained(self)
            eventLoop = context.eventLoop
            loopThread = pthread_self()
            self.session = session
            if mode == .server {
                peer = context.channel.remoteAddress?.description ?? "unknown"
            }
            startIdleCheck(context: context)
            if context.channel.isActive { flush() }
        } catch {
            context.close(promise: nil)
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        endStreams()
        spareStreams = []
        idleCheck?.cancel()
        onRemoved?()
        onRemoved = nil
        session?.closeAll()
        session = nil
        self.context = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closed = true
        session?.closeAll()
        endStreams()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        receivedSinceCheck = true
        let bytes = unwrapInboundIn(data)
        do {
            try session.receive(bytes)
        } catch {
            flush()
            context.close(promise: nil)
            return
        }
        handOverOpenedStreams(context: context, session: session)
        if session.glitchBudgetExhausted {
            goAwayAndClose(session, errorCode: NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
            return
        }
        flush()
    }

    /// Wakes the connection's task once after a read that completed request heads (not once per
    /// request).
    private func handOverOpenedStreams(context: ChannelHandlerContext, session: HTTP2Session) {
        guard headsReceived else { return }
        headsReceived = false
        lastStreamActivity = .now()
        if !pendingStreams.isEmpty, let waiter = streamsWaiter {
            streamsWaiter = nil
            waiter.resume(returning: true)
        }
    }

    /// The state of a request stream the peer opens (inside nghttp2's callbacks, on this loop).
    func makeRequestStream(id: Int32, bodyless: Bool) -> HTTP2StreamState {
        if let spare = spareStreams.popLast() {
            spare.reuse(id: id, inbound: bodyless ? emptyBody : nil)
            return spare
        }
        let stream = HTTP2StreamState(
            id: id, handler: self, eventLoop: eventLoop!, inbound: bodyless ? emptyBody : nil)
        // Room for a typical request head (pseudo-headers plus a few), so it is not regrown.
        stream.headers.reserveCapacity(12)
        return stream
    }

    /// A closed request stream's state, which nothing else refers to (checked by the caller):
    /// kept for a later stream, unless enough are kept already.
    func requestStreamClosed(_ stream: HTTP2StreamState) {
        guard spareStreams.count < Self.maxSpareStreams, !streamsEnded else { return }
        stream.park(emptyBody: emptyBody)
        spareStreams.append(stream)
    }

    /// Request streams waiting for a task (on the event loop).
    var pendingStreamCount: Int { pendingStreams.count }

    /// A request's head is complete (inside nghttp2's callbacks, on this loop): the stream waits
    /// for a task to serve it, unless the connection's stream sequence has ended.
    func requestHeadReceived(_ stream: HTTP2StreamState) {
        headsReceived = true
        guard !streamsEnded else { return }
        pendingStreams.append(stream)
    }

    /// Waits (on the event loop, for the connection's task) until request streams are pending:
    /// true when some are, false once the connection has closed or the task is cancelled. Streams
    /// not taken by then have been failed with the connection, and are dropped.
    nonisolated(nonsending) func waitForOpenedStreams() async -> Bool {
        if !pendingStreams.isEmpty { return true }
        guard !streamsEnded, let context else { return false }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(returning: false)
                } else {
                    streamsWaiter = continuation
                }
            }
        } onCancel: {
            loopBound.eventLoop.execute { loopBound.value.endStreams() }
        }
    }

    /// The oldest request stream no task has taken yet (on the event loop).
    func takePendingStream() -> HTTP2StreamState? {
        pendingStreams.popFirst()
    }

    /// Ends the connection's stream sequence: its task's wait returns false.
    private func endStreams() {
        streamsEnded = true
        pendingStreams.removeAll()
        if let waiter = streamsWaiter {
            streamsWaiter = nil
            waiter.resume(returning: false)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            flush()
            if readPending {
                readPending = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Server side: stops reading while the outbound queue is over its bound, so a peer that sends
    /// but never reads cannot grow our buffers. A client always reads: if both ends stopped reading
    /// while their sends were blocked (a client uploading requests while downloading responses),
    /// neither would see the other's WINDOW_UPDATEs or data again — a deadlock. The client's own
    /// memory is bounded by the windows it advertises.
    public func read(context: ChannelHandlerContext) {
        if mode == .client || context.channel.isWritable {
            context.read()
        } else {
            readPending = true
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: operations from response writers (on the event loop)

    /// Runs a response writer's operation on the session, which it borrows (no retain and release
    /// per call); throws if the connection has closed.
    private func writerCall<R>(_ operation: (HTTP2Session) throws -> R) throws -> R {
        guard let writerSession else { throw HTTP2Error(.connectionClosed, "the connection closed") }
        return try writerSession._withUnsafeGuaranteedRef(operation)
    }

    func submitResponse(_ stream: HTTP2StreamState, status: Int, headers: HTTP2Headers, endStream: Bool) throws {
        try writerCall { try $0.submitResponse(stream, status: status, headers: headers, endStream: endStream) }
        scheduleFlush()
    }

    /// The state of an open stream, for operations by id (the client's).
    private func liveStream(_ streamID: Int32) throws -> HTTP2StreamState {
        guard let session else { throw HTTP2Error(.connectionClosed, "the connection closed") }
        guard let stream = session.stream(streamID) else { throw session.closedError(streamID) }
        return stream
    }

    func enqueue(streamID: Int32, _ chunk: ByteBuffer) throws -> EventLoopFuture<Void>? {
        try enqueue(liveStream(streamID), chunk)
    }

    /// Queues body bytes; returns a future to wait on when the stream's buffer is over its bound.
    func enqueue(_ stream: HTTP2StreamState, _ chunk: ByteBuffer) throws -> EventLoopFuture<Void>? {
        try writerCall { try $0.enqueue(stream, chunk) }
        scheduleFlush()
        guard stream.outboundBytes > configuration.streamOutboundHighWatermark else { return nil }
        if let drained = stream.drained { return drained.futureResult }
        // The stream's loop (this one): binding `context` would cost a retain on every call.
        let promise = stream.eventLoop.makePromise(of: Void.self)
        stream.drained = promise
        return promise.futureResult
    }

    func finish(streamID: Int32, trailers: HTTP2Headers?) throws {
        try finish(liveStream(streamID), trailers: trailers)
    }

    func finish(_ stream: HTTP2StreamState, trailers: HTTP2Headers?) throws {
        try writerCall { try $0.finish(stream, trailers: trailers) }
        scheduleFlush()
    }

    /// Resets a stream that is still open. A stream the peer already closed (or reset) gets no
    /// RST_STREAM of ours: RFC 9113 §5.4.2 forbids answering a reset with a reset.
    func reset(streamID: Int32, errorCode: UInt32) {
        guard let session, let stream = session.stream(streamID) else { return }
        reset(stream, errorCode: errorCode)
    }

    func reset(_ stream: HTTP2StreamState, errorCode: UInt32) {
        guard let session, stream.isOpen else { return }
        session.reset(streamID: stream.id, errorCode: errorCode)
        scheduleFlush()
    }

    func consume(streamID: Int32, bytes: Int) {
        session?.consume(streamID: streamID, bytes: bytes)
        scheduleFlush()
    }

    /// Graceful shutdown: GOAWAY (no new streams), in-flight streams may finish within `grace`,
    /// then the connection closes.
    func beginShutdown(grace: TimeAmount) {
        guard let session, let context, !closed else { return }
        session.goAway(errorCode: NGHTTP2_NO_ERROR.rawValue)
        closeWhenIdle = true
        flush()
        closeIfIdleAfterGoAway()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: grace) {
            loopBound.value.forceClose()
        }
    }

    private func forceClose() {
        guard !closed, let context else { return }
        closed = true
        context.close(promise: nil)
    }

    /// GOAWAY with `errorCode`, sent before the connection closes (its streams' tasks are
    /// cancelled as it goes).
    private func goAwayAndClose(_ session: HTTP2Session, errorCode: UInt32) {
        session.goAway(errorCode: errorCode)
        flush()
        forceClose()
    }

    private func closeIfIdleAfterGoAway() {
        guard closeWhenIdle, let session, session.streams.isEmpty else { return }
        forceClose()
    }

    private func startIdleCheck(context: ChannelHandlerContext) {
        let timeout = configuration.idleTimeout
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleRepeatedTask(
            initialDelay: min(timeout, .seconds(1)),
            delay: .seconds(1)
        ) { _ in
            loopBound.value.checkIdle()
        }
    }

    /// Once a second: pings a silent peer while streams are open, and closes the connection when
    /// the peer leaves the PING unanswered past `pingTimeout` (both sides: a client waiting on a
    /// quiet stream learns that its server is gone). On the server, also resets streams stalled by
    /// a closed peer window past `sendStallTimeout` and streams idle past `streamIdleTimeout`, and
    /// closes a connection idle past `idleTimeout`.
    private func checkIdle() {
        guard let session, !closed else { return }
        let now = NIODeadline.now()
        if checkKeepalive(session: session, now: now) { return }
        if session.streams.isEmpty {
            // No stream open: a quiet connection holds no spare states, and nghttp2's pool no
            // blocks.
            spareStreams.removeAll()
            session.releasePooledMemory()
        }
        guard mode == .server else { return }
        var reset = false
        for stream in session.streams {
            if checkStalled(stream, blocked: session.isBlockedByFlowControl(stream), now: now)
                || checkStreamIdle(stream, now: now)
            {
                session.reset(streamID: stream.id, errorCode: NGHTTP2_CANCEL.rawValue)
                reset = true
            }
        }
        if reset { flush() }
        if !session.streams.isEmpty {
            lastStreamActivity = now
            return
        }
        if now - lastStreamActivity >= configuration.idleTimeout {
            goAwayAndClose(session, errorCode: NGHTTP2_NO_ERROR.rawValue)
        }
    }

    /// Whether the stream's queued bytes have not moved, for want of peer window, for longer than
    /// `sendStallTimeout`.
    private func checkStalled(_ stream: HTTP2StreamState, blocked: Bool, now: NIODeadline) -> Bool {
        guard blocked else {
            stream.stall.reset()
            return false
        }
        return stream.stall.stillFor(stream.sentBytes, at: now) >= configuration.sendStallTimeout
    }

    /// Whether nothing has moved on the stream, either way, for longer than `streamIdleTimeout`.
    private func checkStreamIdle(_ stream: HTTP2StreamState, now: NIODeadline) -> Bool {
        guard let timeout = configuration.streamIdleTimeout else { return false }
        let progress =
            stream.sentBytes &+ stream.receivedBytes &+ (stream.headSubmitted ? 1 : 0)
            &+ (stream.outboundFinished ? 1 : 0)
        return stream.idle.stillFor(progress, at: now) >= timeout
    }

    /// Keepalive: a PING to a peer that holds streams but has sent nothing for `pingInterval`;
    /// GOAWAY and close (true) when it leaves the PING unanswered past `pingTimeout`.
    private func checkKeepalive(session: HTTP2Session, now: NIODeadline) -> Bool {
        // While the outbound queue is over its bound the server does not read (see `read`), and a
        // PING would wait behind the queue: a slow but live reader's ACKs and WINDOW_UPDATEs sit
        // unread, so its silence says nothing. A peer that is really gone is then found by TCP's
        // retransmission timeout, or by `sendStallTimeout` once its window stays shut.
        if receivedSinceCheck || readPending || context?.channel.isWritable == false {
            receivedSinceCheck = false
            lastReceived = now
            pingSentAt = nil
        } else if let pingSentAt {
            if now - pingSentAt >= configuration.pingTimeout {
                goAwayAndClose(session, errorCode: NGHTTP2_NO_ERROR.rawValue)
                return true
            }
        } else if let interval = configuration.pingInterval, !session.streams.isEmpty,
            now - lastReceived >= interval
        {
            session.ping()
            pingSentAt = now
            flush()
        }
        return false
    }

    var activeStreamCount: Int { session?.streams.count ?? 0 }

    /// Client side: opens a stream with `headers`; the response head completes the returned future.
    func openStream(headers: HTTP2Headers, endStream: Bool) throws -> (
        Int32, EventLoopFuture<HTTP2Headers>, HTTP2InboundBody
    ) {
        guard let session, let context, !closed else { throw HTTP2Error(.connectionClosed, "the connection closed") }
        guard !session.receivedGoAway else { throw HTTP2Error(.connectionClosed, "the server is going away") }
        let eventLoop = context.eventLoop
        let head = eventLoop.makePromise(of: HTTP2Headers.self)
        var body: HTTP2InboundBody?
        let id = try session.submitRequest(headers: headers, endStream: endStream) { id in
            let state = HTTP2StreamState(id: id, handler: self, eventLoop: eventLoop)
            body = state.inbound
            state.responseHead = head
            return state
        }
        scheduleFlush()
        return (id, head.futureResult, body!)
    }

    /// The connection can take new streams.
    var isUsable: Bool {
        guard let session, !closed else { return false }
        return !session.receivedGoAway
    }

    // MARK: output

    /// Coalesces the writes of one event-loop tick (a handler's head, body and trailers) into a
    /// single flush.
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loopBound.value.flushScheduled = false
            loopBound.value.flush()
        }
    }

    /// Writes whatever nghttp2 has ready, while the channel accepts more. A flush asked for while
    /// one runs (the channel turning writable again inside `context.flush()`, say) is not dropped:
    /// the running one goes round again, or output could stall with nghttp2 still holding data.
    private func flush() {
        guard !closed, let session, let context, context.channel.isActive else { return }
        if flushing {
            flushAgain = true
            return
        }
        flushing = true
        defer { flushing = false }
        repeat {
            flushAgain = false
            var wrote = false
            // Most calls find nothing to send (a read that only opened streams, say): they ask
            // nghttp2 before allocating a buffer.
            while context.channel.isWritable && session.wantsWrite {
                var buffer = context.channel.allocator.buffer(capacity: 4096)
                do {
                    try session.drainOutput(into: &buffer)
                } catch {
                    context.close(promise: nil)
                    return
                }
                guard buffer.readableBytes > 0 else { break }
                context.write(wrapOutboundOut(buffer), promise: nil)
                wrote = true
                // The first output carried the preface and SETTINGS; now the window may grow.
                try? session.openConnectionWindow()
            }
            if wrote { context.flush() }
        } while flushAgain && !closed && context.channel.isActive
        if closeWhenIdle && session.streams.isEmpty && !session.wantsWrite {
            closed = true
            context.close(promise: nil)
            return
        }
        if !session.wantsIO {
            closed = true
            context.close(promise: nil)
        }
    }
}

extension HTTP2ConnectionHandler {
    /// Registers the task serving a stream so a reset from the peer cancels it. Returns false if
    /// the stream is already gone (the handler should not start).
    func registerHandler(_ stream: HTTP2StreamState, task: UnsafeCurrentTask?) -> Bool {
        guard !stream.resetBeforeHandler else { return false }
        stream.handlerTask = task
        return true
    }

    /// Called when a stream's handler has returned: a response it left unfinished is reset; a
    /// complete one stops the request's upload if the client is still sending it (nothing will
    /// read it now).
    func handlerFinished(_ stream: HTTP2StreamState) {
        stream.handlerTask = nil
        guard stream.isOpen, writerSession != nil else { return }
        if !stream.outboundFinished {
            _ = try? writerCall { $0.reset(streamID: stream.id, errorCode: NGHTTP2_INTERNAL_ERROR.rawValue) }
        } else if stream.hasOwnBody {  // (a request whose HEADERS ended it has no upload)
            _ = try? writerCall { $0.stopUploadAfterResponse(stream) }
        }
        scheduleFlush()
    }
}
