import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// One stream's state on the connection's event loop: what arrived, what waits to be sent. One class
/// serves both sides (request streams of a server, streams a client opens); the fields only one
/// side uses are grouped at the end.
///
/// Unchecked Sendable: its mutable fields are touched only on its connection's event loop. It
/// travels from the connection handler through the connection's pending queue to the task serving
/// the stream, which runs on that loop (`HTTP2Server` checks). A request (`HTTP2ServerRequest`)
/// reads from any thread only what no longer changes once the head has arrived (`id`, `headers`,
/// `inbound`, the handler's `peer`): `id` and `inbound` change only in `reuse`, which needs the
/// state to be referenced by nothing else, the request included.
final class HTTP2StreamState: @unchecked Sendable {
    /// Changes only when the connection reuses the state for a new stream (`reuse`), which it does
    /// only while nothing else refers to the state.
    private(set) var id: Int32
    /// Until nghttp2 closes the stream (or the connection goes): operations on a closed stream
    /// fail. Response writers hold the state itself, so they need no lookup by id.
    var isOpen = true
    /// Where the session's array of open streams holds this state (-1 when it does not).
    var openIndex = -1
    /// The connection the stream belongs to, and its event loop. The handler may be touched only
    /// on that loop: callers check `isOnLoop` (or hop there) and then call it through
    /// `withHandler`.
    let eventLoop: any EventLoop
    let handler: HTTP2ConnectionHandler
    /// `handler`, for calls that borrow it (`withHandler`): `handler` keeps it alive.
    private let borrowedHandler: Unmanaged<HTTP2ConnectionHandler>
    /// The thread of `eventLoop`, which runs on that one thread for its life: `isOnLoop` compares
    /// thread ids, where asking the loop costs a retain and a release of it. (glibc reuses the ids
    /// of ended threads: a writer kept past its event loop group's shutdown could match a new
    /// thread, and then call into a connection that has long closed, which throws.)
    private let loopThread: pthread_t

    // Both sides: what arrived, and what waits to be sent.

    /// The request head (server) or response head (client).
    var headers = HTTP2Headers()
    var headerBytes = 0
    private(set) var inbound: HTTP2InboundBody
    /// `inbound` is the stream's own (not a connection's shared empty body, which nothing ends or
    /// fails): the hot paths of bodyless requests skip it without loading it.
    private(set) var hasOwnBody: Bool
    /// The peer's trailers while their header block arrives, until END_STREAM hands them to
    /// `inbound`. Apart from `trailers` (ours): both directions may carry trailers at once.
    var receivedTrailers: HTTP2Headers?

    var outbound = ChunkQueue()
    var outboundBytes = 0
    /// The local side has written everything; `trailers`, if any, follow the body.
    var outboundFinished = false
    var trailers: HTTP2Headers?
    /// HEADERS with a data provider have been submitted.
    var headSubmitted = false
    /// The data provider returned DEFERRED and needs `resume_data` when bytes arrive.
    var deferred = false
    /// A writer waiting for the outbound buffer to drain below the low watermark.
    var drained: EventLoopPromise<Void>?

    // Server side: the handler's task and the once-a-second checks.

    /// The task serving this stream, cancelled if the peer resets the stream. Set and cleared on
    /// the event loop by the task itself, so it is alive while set.
    var handlerTask: UnsafeCurrentTask?
    /// The stream closed before its handler registered: the handler starts cancelled.
    var resetBeforeHandler = false
    /// The handler returned with its response complete but not yet sent, and the request's body
    /// still coming: the upload is stopped once the response's end goes out
    /// (`HTTP2Session.stopUploadAfterResponse`).
    var stopsUploadAfterResponse = false
    /// Body bytes handed to nghttp2 so far; how long they have not moved while the peer's closed
    /// flow-control window held queued bytes back (for `sendStallTimeout`).
    var sentBytes = 0
    var stall = StillnessClock()
    /// Request body bytes received so far; how long nothing has moved either way (for
    /// `streamIdleTimeout`).
    var receivedBytes = 0
    var idle = StillnessClock()

    // Client side.

    /// Completed with the response head, or failed if the stream ends first.
    var responseHead: EventLoopPromise<HTTP2Headers>?

    /// Made on `eventLoop`, by the connection's `handler`. `inbound`: the request's body, when it
    /// is known already (`HTTP2InboundBody.makeEmpty()`).
    init(id: Int32, handler: HTTP2ConnectionHandler, eventLoop: any EventLoop, inbound: HTTP2InboundBody? = nil) {
        self.id = id
        self.eventLoop = eventLoop
        self.handler = handler
        self.borrowedHandler = Unmanaged.passUnretained(handler)
        self.loopThread = handler.loopThread
        self.inbound =
            inbound ?? HTTP2InboundBody(connection: NIOLoopBound(handler, eventLoop: eventLoop), streamID: id)
        self.hasOwnBody = inbound == nil
    }

    /// How many streams used this state before this one (for tests and logs).
    private(set) var reuses = 0

    /// Whether the caller runs on the connection's event loop (any thread may ask).
    var isOnLoop: Bool { pthread_equal(pthread_self(), loopThread) != 0 }

    /// Runs `body` with the connection's handler, borrowed: no retain and release per call. On the
    /// event loop only, like every use of the handler.
    func withHandler<R>(_ body: (HTTP2ConnectionHandler) throws -> R) rethrows -> R {
        try borrowedHandler._withUnsafeGuaranteedRef(body)
    }

    /// A closed request stream's state, kept for a later stream: it lets go of what the stream
    /// held — its body (whose unread bytes give their connection-window credit back as the body
    /// goes), queued bytes, trailers, a large head's storage — so a spare holds no more than an
    /// empty state. `emptyBody`: the connection's shared empty body.
    func park(emptyBody: HTTP2InboundBody) {
        if hasOwnBody {
            inbound = emptyBody
            hasOwnBody = false
        }
        dropQueuedBytesAndTrailers()
        if headers.storageCapacity > Self.maxKeptHeadStorage { headers.removeAll(keepingCapacity: false) }
    }

    /// Lets go of what `park` and `reuse` both clear. A field still at its initial value is not
    /// stored again: each store of a reference releases the old one.
    private func dropQueuedBytesAndTrailers() {
        if !outbound.isEmpty { outbound = ChunkQueue() }
        if receivedTrailers != nil { receivedTrailers = nil }
        if trailers != nil { trailers = nil }
        if drained != nil { drained = nil }
    }

    /// A parked state keeps its head's storage up to this size (a typical request head is far
    /// smaller).
    static let maxKeptHeadStorage = 4096

    /// Makes a closed request stream's state that nothing else refers to into the state of the
    /// new stream `id`, as `init` would (the head's storage is kept for the new head): a connection
    /// serving many short requests allocates no state for each.
    ///
    /// Fields already at their initial value are left alone: each store of a reference releases
    /// the old one, and most are nil after an ordinary request.
    /// `inbound`: the connection's shared empty body, or nil for a body of the stream's own.
    func reuse(id: Int32, inbound: HTTP2InboundBody?) {
        self.id = id
        reuses += 1
        isOpen = true
        headers.removeAll(keepingCapacity: true)
        headerBytes = 0
        if let inbound {
            if hasOwnBody { self.inbound = inbound }
        } else {
            self.inbound = HTTP2InboundBody(connection: NIOLoopBound(handler, eventLoop: eventLoop), streamID: id)
        }
        hasOwnBody = inbound == nil
        dropQueuedBytesAndTrailers()
        outboundBytes = 0
        outboundFinished = false
        headSubmitted = false
        deferred = false
        handlerTask = nil
        resetBeforeHandler = false
        stopsUploadAfterResponse = false
        sentBytes = 0
        stall = StillnessClock()
        receivedBytes = 0
        idle = StillnessClock()
        if responseHead != nil { responseHead = nil }
    }
}
