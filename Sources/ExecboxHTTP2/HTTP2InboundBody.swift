public import NIOCore
import Synchronization

/// The bytes a peer sends on one stream, as an async sequence. Bounded without a limit of its
/// own: the peer may only send what the stream's flow-control window allows, and the window
/// reopens only as the consumer takes chunks (`onConsume`), so a slow reader slows the writer.
public final class HTTP2InboundBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    private struct State {
        var chunks = ChunkQueue()
        var finished = false
        var failure: HTTP2Error?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var trailers: HTTP2Headers?
        /// Bytes received but not yet taken by the consumer.
        var unconsumed = 0
    }

    /// Inline in the object (not a separate box): one allocation per stream fewer.
    private let state = Mutex(State())
    /// Where consumed bytes are credited back: the stream's connection, on its event loop (nil
    /// for `empty`, which never holds bytes).
    private let connection: NIOLoopBound<HTTP2ConnectionHandler>?
    private let streamID: Int32

    init(connection: NIOLoopBound<HTTP2ConnectionHandler>, streamID: Int32) {
        self.connection = connection
        self.streamID = streamID
    }

    private init(finished: ()) {
        self.connection = nil
        self.streamID = 0
        state.withLock { $0.finished = true }
    }

    /// A body that has ended with no bytes. A connection makes one and gives it to every request
    /// whose HEADERS ended the stream (a GET, say), so such a request allocates no body of its
    /// own; one per connection, not per process, so event loops never share its reference count.
    static func makeEmpty() -> HTTP2InboundBody {
        HTTP2InboundBody(finished: ())
    }

    /// Reopens the flow-control windows by `bytes`. From the producer side this may run inside an
    /// nghttp2 callback, where the session must not be re-entered, so it goes through the event
    /// loop's queue; the consumer (a handler task, never inside a callback) credits directly when
    /// it already runs on the loop.
    private func onConsume(_ bytes: Int, direct: Bool = false) {
        guard let connection = self.connection else { return }
        let streamID = self.streamID
        if direct && connection.eventLoop.inEventLoop {
            connection.value.consume(streamID: streamID, bytes: bytes)
        } else {
            connection.eventLoop.execute { connection.value.consume(streamID: streamID, bytes: bytes) }
        }
    }

    // MARK: producer side (event loop)

    /// An empty body (`makeEmpty`), shared by a connection's bodyless requests: the producer side
    /// leaves it alone.
    var isShared: Bool { connection == nil }

    func append(_ chunk: ByteBuffer) {
        // nghttp2 delivers no DATA on a stream whose HEADERS ended it (RFC 9113 §5.1).
        guard !isShared else { return }
        let waiter: CheckedContinuation<ByteBuffer?, any Error>? = state.withLock { state in
            state.unconsumed += chunk.readableBytes
            if let waiter = state.waiter {
                state.waiter = nil
                state.unconsumed -= chunk.readableBytes
                return waiter
            }
            state.chunks.append(chunk)
            return nil
        }
        if let waiter {
            waiter.resume(returning: chunk)
            onConsume(chunk.readableBytes)
        }
    }

    func finish(trailers: HTTP2Headers? = nil) {
        guard !isShared else { return }
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard !state.finished else { return nil }
            state.finished = true
            state.trailers = trailers
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Ends the body with `error`, unless it has ended already (then `error` is not built).
    func fail(_ error: @autoclosure () -> HTTP2Error) {
        guard !isShared else { return }
        let (waiter, failure) = state.withLock { state -> (CheckedContinuation<ByteBuffer?, any Error>?, HTTP2Error?) in
            guard !state.finished else { return (nil, nil) }
            let failure = error()
            state.finished = true
            state.failure = failure
            defer { state.waiter = nil }
            return (state.waiter, failure)
        }
        if let waiter, let failure { waiter.resume(throwing: failure) }
    }

    /// A body dropped unread returns what it held to the connection's flow-control window, or a
    /// handler that ignores its request body would shrink the window for every other stream.
    deinit {
        let unread = state.withLock { $0.unconsumed }
        if unread > 0 { onConsume(unread) }
    }

    /// Whether the producer side is done: the body ended or failed (for tests).
    var hasEnded: Bool { state.withLock { $0.finished } }

    // MARK: consumer side

    /// The trailers the peer sent after the body, once the body has ended.
    public var trailers: HTTP2Headers? {
        state.withLock { $0.trailers }
    }

    func next() async throws -> ByteBuffer? {
        enum Taken {
            case chunk(ByteBuffer)
            case end
            case failure(HTTP2Error)
            case wait
        }
        let taken: Taken = state.withLock { state in
            if let chunk = state.chunks.popFirst() {
                state.unconsumed -= chunk.readableBytes
                return .chunk(chunk)
            }
            if let failure = state.failure { return .failure(failure) }
            return state.finished ? .end : .wait
        }
        switch taken {
        case .chunk(let chunk):
            onConsume(chunk.readableBytes, direct: true)
            return chunk
        case .end:
            return nil
        case .failure(let error):
            throw error
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let immediate: Result<ByteBuffer?, any Error>? = state.withLock { state in
                        if let chunk = state.chunks.popFirst() {
                            state.unconsumed -= chunk.readableBytes
                            return .success(chunk)
                        }
                        if let failure = state.failure { return .failure(failure) }
                        if state.finished { return .success(nil) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.waiter = continuation
                        return nil
                    }
                    if let immediate {
                        if case .success(let chunk?) = immediate { onConsume(chunk.readableBytes) }
                        continuation.resume(with: immediate)
                    }
                }
            } onCancel: {
                let waiter = state.withLock { state in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let body: HTTP2InboundBody

        public mutating func next() async throws -> ByteBuffer? {
            try await body.next()
        }
    }

    /// The whole body, failing beyond `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await var chunk in self {
            guard result.readableBytes + chunk.readableBytes <= limit else {
                throw HTTP2Error(.invalidState, "body larger than \(limit) bytes")
            }
            result.writeBuffer(&chunk)
        }
        return result
    }
}
