internal import CNghttp2
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one `nghttp2_session` and its callbacks. Only the connection handler touches it, on the
/// connection's event loop; nghttp2 calls back into it from `receive` and `drainOutput`.
final class HTTP2Session {
    enum Mode {
        case server
        case client
    }

    let mode: Mode
    let configuration: HTTP2Configuration
    private(set) var session: OpaquePointer?
    /// Every open stream's state, which this array keeps alive. Each state knows its place in it
    /// (`openIndex`), so a stream is added and removed with no hashing. Lookups by id go through
    /// `stream(_:)`: nghttp2 already keeps a map of its streams, and a server stream's state is
    /// attached to its nghttp2 stream (stream user data).
    private(set) var streams: [HTTP2StreamState] = []
    /// Client streams by id: their states are not attached to nghttp2's streams (see `stream(_:)`).
    private var clientStreams: [Int32: HTTP2StreamState] = [:]
    /// Glitches the peer caused; when spent, the connection goes away.
    var glitches: GlitchBudget
    var glitchBudgetExhausted = false
    private var connectionWindowOpened = false
    /// The peer sent GOAWAY: no new streams on this connection.
    var receivedGoAway = false
    /// The stream whose header block is arriving (from onBeginHeaders to the HEADERS frame's
    /// onFrameReceived), so each field of the block needs no stream lookup. Unretained, so a
    /// field costs no reference counting: `streams` keeps the state alive, and `remove` and
    /// `closeAll` clear this before they let it go.
    var headerBlockStream: Unmanaged<HTTP2StreamState>?
    /// The connection handler that owns this session: on the server it makes the state of each
    /// stream the peer opens and takes each request whose head is complete. Unmanaged, so a
    /// callback borrows it with no reference counting (`withConnection`): the handler owns the
    /// session and lets it go before it goes itself, and nghttp2 calls back only from `receive`
    /// and `drainOutput`, which the handler calls.
    var connection: Unmanaged<HTTP2ConnectionHandler>?

    /// Runs `body` with the connection handler, borrowed (see `connection`).
    func withConnection<R>(_ body: (HTTP2ConnectionHandler) -> R) -> R? {
        connection?._withUnsafeGuaranteedRef(body)
    }
    let allocator = ByteBufferAllocator()
    /// nghttp2's memory: the blocks of closed streams serve the next ones. Released after the
    /// nghttp2 session (deinit deletes the session first), which frees into it to the end.
    private let memory = NGHTTP2Memory()

    /// Frees the blocks nghttp2's pool keeps for later streams (the connection has gone quiet).
    func releasePooledMemory() {
        memory.releasePooled()
    }

    init(mode: Mode, configuration: HTTP2Configuration) throws {
        self.mode = mode
        self.configuration = configuration
        self.glitches = GlitchBudget(burst: configuration.glitchBurst, perSecond: configuration.glitchRatePerSecond)

        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0 else {
            throw HTTP2Error.nghttp2("cannot make the session's callbacks", NGHTTP2_ERR_NOMEM.rawValue)
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent)
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, onInvalidFrame)

        var options: OpaquePointer?
        guard nghttp2_option_new(&options) == 0 else {
            throw HTTP2Error.nghttp2("cannot make the session's options", NGHTTP2_ERR_NOMEM.rawValue)
        }
        defer { nghttp2_option_del(options) }
        // The window opens only as the application consumes data: real backpressure.
        nghttp2_option_set_no_auto_window_update(options, 1)
        nghttp2_option_set_max_outbound_ack(options, configuration.maxOutboundAcks)
        nghttp2_option_set_max_settings(options, configuration.maxSettingsEntries)
        nghttp2_option_set_max_continuations(options, configuration.maxContinuations)
        nghttp2_option_set_stream_reset_rate_limit(
            options,
            UInt64(configuration.streamResetBurst),
            UInt64(configuration.streamResetRatePerSecond)
        )

        let userData = Unmanaged.passUnretained(self).toOpaque()
        // nghttp2 copies the struct; the pool it points to lives as long as this object.
        var memory = self.memory.nghttp2Memory
        let rc: Int32
        switch mode {
        case .server: rc = nghttp2_session_server_new3(&session, callbacks, userData, options, &memory)
        case .client: rc = nghttp2_session_client_new3(&session, callbacks, userData, options, &memory)
        }
        guard rc == 0 else { throw HTTP2Error.nghttp2("cannot create a session", rc) }
        try submitSettings()
    }

    deinit {
        nghttp2_session_del(session)
    }

    private func submitSettings() throws {
        let settings: [(nghttp2_settings_id, Int)] = [
            (NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, configuration.maxConcurrentStreams),
            (NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, configuration.initialWindowSize),
            (NGHTTP2_SETTINGS_MAX_FRAME_SIZE, configuration.maxFrameSize),
            (NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, configuration.maxHeaderListSize),
            (NGHTTP2_SETTINGS_ENABLE_PUSH, 0),
        ]
        let entries =
            settings
            .filter { mode == .server || $0.0 != NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS }
            .map { nghttp2_settings_entry(settings_id: Int32($0.0.rawValue), value: UInt32($0.1)) }
        let rc = entries.withUnsafeBufferPointer {
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress, $0.count)
        }
        guard rc == 0 else { throw HTTP2Error.nghttp2("cannot submit SETTINGS", rc) }
    }

    /// Widens the connection's receive window. Called once the preface and SETTINGS are on the
    /// wire: the WINDOW_UPDATE it queues must not precede them (grpc-core rejects that).
    func openConnectionWindow() throws {
        guard !connectionWindowOpened else { return }
        connectionWindowOpened = true
        let rc = nghttp2_session_set_local_window_size(
            session,
            UInt8(NGHTTP2_FLAG_NONE.rawValue),
            0,
            Int32(configuration.connectionWindowSize)
        )
        guard rc == 0 else {
            throw HTTP2Error.nghttp2("cannot open the connection window", rc)
        }
    }

    // MARK: input and output

    /// Feeds received bytes to nghttp2. Throws on a connection-level protocol error.
    func receive(_ buffer: ByteBuffer) throws {
        let rc = buffer.withUnsafeReadableBytes { bytes in
            nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        if rc < 0 {
            throw HTTP2Error.nghttp2("HTTP/2 protocol error", Int32(rc))
        }
    }

    /// Appends every frame nghttp2 has ready to `buffer`, up to about `limit` bytes.
    func drainOutput(into buffer: inout ByteBuffer, limit: Int = 1 << 20) throws {
        while buffer.readableBytes < limit {
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            if n < 0 { throw HTTP2Error.nghttp2("HTTP/2 send error", Int32(n)) }
            if n > 0, let data {
                buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: n))
                continue
            }
            // Nothing more to send: resets that came due as responses ended go out now, behind them.
            guard submitDueUploadStops() else { return }
        }
        // At the limit: due resets are queued for the next drain (nghttp2 then wants to write).
        _ = submitDueUploadStops()
    }

    var wantsIO: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    // MARK: streams

    /// The state of an open stream, or nil if the stream is closed or unknown.
    func stream(_ id: Int32) -> HTTP2StreamState? {
        if let attached = nghttp2_session_get_stream_user_data(session, id) {
            return Unmanaged<HTTP2StreamState>.fromOpaque(attached).takeUnretainedValue()
        }
        // Client streams are not attached: their state is made once the id is known, after
        // nghttp2_submit_request, and nghttp2 1.52 opens the stream only when HEADERS go out.
        return mode == .client ? clientStreams[id] : nil
    }

    /// Tracks a stream the peer opened (server) and attaches its state to the nghttp2 stream.
    /// nghttp2 opens a request's stream before it calls onBeginHeaders, so attaching does not
    /// fail; if it did, false (the callback then fails the connection, not the process).
    fileprivate func add(_ stream: HTTP2StreamState) -> Bool {
        let rc = nghttp2_session_set_stream_user_data(
            session, stream.id, Unmanaged.passUnretained(stream).toOpaque())
        guard rc == 0 else { return false }
        track(stream)
        return true
    }

    private func track(_ stream: HTTP2StreamState) {
        stream.openIndex = streams.count
        streams.append(stream)
    }

    /// Stops tracking a stream; nghttp2 is closing it (its attached state must not outlive it).
    fileprivate func remove(_ streamID: Int32) -> HTTP2StreamState? {
        let found: HTTP2StreamState?
        if mode == .client {
            found = clientStreams.removeValue(forKey: streamID)
        } else {
            found = nghttp2_session_get_stream_user_data(session, streamID).map {
                Unmanaged<HTTP2StreamState>.fromOpaque($0).takeUnretainedValue()
            }
        }
        guard let found else { return nil }
        // Swap the last state into the removed one's place.
        let index = found.openIndex
        assert(index >= 0 && streams[index] === found, "an open stream's state knows its place")
        if index != streams.count - 1 {
            streams.swapAt(index, streams.count - 1)
            streams[index].openIndex = index
        }
        let stream = streams.removeLast()
        stream.openIndex = -1
        if headerBlockStream?.toOpaque() == Unmanaged.passUnretained(stream).toOpaque() { headerBlockStream = nil }
        if mode == .server { nghttp2_session_set_stream_user_data(session, streamID, nil) }
        stream.isOpen = false
        return stream
    }

    // MARK: operations

    /// Returns consumed bytes to the flow-control windows of the stream and the connection.
    func consume(streamID: Int32, bytes: Int) {
        guard bytes > 0 else { return }
        if stream(streamID) != nil {
            nghttp2_session_consume(session, streamID, bytes)
        } else {
            nghttp2_session_consume_connection(session, bytes)
        }
    }

    /// Submits a response (server) head: `status`, then `headers` (pseudo-header fields in them
    /// are left out). With `endStream` no body follows.
    func submitResponse(_ stream: HTTP2StreamState, status: Int, headers: HTTP2Headers, endStream: Bool) throws {
        guard (100...999).contains(status) else {
            throw HTTP2Error(.invalidState, "a response status has three digits (100 to 999), not \(status)")
        }
        guard stream.isOpen else { throw closedError(stream.id) }
        let streamID = stream.id
        var provider = nghttp2_data_provider()
        provider.read_callback = readData
        // readData finds the stream through its source, with no lookup; the state lives as long
        // as nghttp2 may call it (until the stream closes).
        provider.source.ptr = Unmanaged.passUnretained(stream).toOpaque()
        let rc = withNameValues(headers, status: status) { nva, count in
            endStream
                ? nghttp2_submit_response(session, streamID, nva, count, nil)
                : nghttp2_submit_response(session, streamID, nva, count, &provider)
        }
        guard rc == 0 else { throw HTTP2Error.nghttp2("cannot submit response", rc) }
        stream.headSubmitted = !endStream
        if endStream { stream.outboundFinished = true }
    }

    /// Submits a request (client); returns the new stream's id.
    func submitRequest(headers: HTTP2Headers, endStream: Bool, state: (Int32) -> HTTP2StreamState) throws -> Int32 {
        var provider = nghttp2_data_provider()
        provider.read_callback = readData
        let id = withNameValues(headers) { nva, count in
            endStream
                ? nghttp2_submit_request(session, nil, nva, count, nil, nil)
                : nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        guard id > 0 else { throw HTTP2Error.nghttp2("cannot submit request", id) }
        let stream = state(id)
        stream.headSubmitted = !endStream
        stream.outboundFinished = endStream
        clientStreams[id] = stream
        track(stream)
        return id
    }

    /// Queues body bytes; resumes the data provider if it was waiting.
    func enqueue(_ stream: HTTP2StreamState, _ chunk: ByteBuffer) throws {
        guard stream.isOpen, !stream.outboundFinished else { throw closedError(stream.id) }
        stream.outbound.append(chunk)
        stream.outboundBytes += chunk.readableBytes
        resumeIfDeferred(stream)
    }

    /// Ends the local side: the body is done, then `trailers` (if any) end the stream.
    func finish(_ stream: HTTP2StreamState, trailers: HTTP2Headers?) throws {
        guard stream.isOpen else { throw closedError(stream.id) }
        guard !stream.outboundFinished else { return }
        stream.outboundFinished = true
        stream.trailers = trailers
        resumeIfDeferred(stream)
    }

    private func resumeIfDeferred(_ stream: HTTP2StreamState) {
        guard stream.deferred else { return }
        stream.deferred = false
        nghttp2_session_resume_data(session, stream.id)
    }

    /// Whether the stream's queued response bytes cannot move because the peer's flow-control
    /// window (the stream's or the connection's) is closed.
    func isBlockedByFlowControl(_ stream: HTTP2StreamState) -> Bool {
        stream.outboundBytes > 0 && nghttp2_session_get_stream_remote_window_size(session, stream.id) <= 0
    }

    func reset(streamID: Int32, errorCode: UInt32) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
    }

    /// Server streams that will stop their request's upload once their response has gone out.
    private var uploadsToStop = 0

    /// `stream`'s handler has returned with its response complete while the client may still be
    /// sending the request body, which nothing will read now: once the response's last frame has
    /// gone out (at once if it has), RST_STREAM NO_ERROR asks the client to stop (RFC 9113 §8.1),
    /// and the stream closes, so the upload holds none of the connection's window.
    func stopUploadAfterResponse(_ stream: HTTP2StreamState) {
        guard nghttp2_session_get_stream_remote_close(session, stream.id) == 0 else { return }
        if nghttp2_session_get_stream_local_close(session, stream.id) == 1 {
            reset(streamID: stream.id, errorCode: NGHTTP2_NO_ERROR.rawValue)
        } else if !stream.stopsUploadAfterResponse {
            stream.stopsUploadAfterResponse = true
            uploadsToStop += 1
        }
    }

    /// Streams whose response's END_STREAM has gone out while they waited to stop their upload:
    /// stopped once `nghttp2_session_mem_send` has returned (`drainOutput`), not inside its
    /// callback, where nghttp2 would set the stream's state after the RST_STREAM was queued.
    private var uploadStopsDue: [Int32] = []

    /// A frame with END_STREAM went out on `streamID`: a stream waiting for its response's end to
    /// stop its upload is due to stop it.
    fileprivate func sentEndOfStream(_ streamID: Int32) {
        guard uploadsToStop > 0, let stream = stream(streamID), stream.stopsUploadAfterResponse else { return }
        stream.stopsUploadAfterResponse = false
        uploadsToStop -= 1
        uploadStopsDue.append(streamID)
    }

    /// Sends RST_STREAM NO_ERROR on the streams due to stop their upload whose client has not
    /// ended it meanwhile; true if there were any.
    private func submitDueUploadStops() -> Bool {
        guard !uploadStopsDue.isEmpty else { return false }
        for streamID in uploadStopsDue where nghttp2_session_get_stream_remote_close(session, streamID) == 0 {
            reset(streamID: streamID, errorCode: NGHTTP2_NO_ERROR.rawValue)
        }
        uploadStopsDue.removeAll(keepingCapacity: true)
        return true
    }

    /// A closing stream no longer waits to stop its upload.
    fileprivate func forgetUploadToStop(_ stream: HTTP2StreamState) {
        guard stream.stopsUploadAfterResponse else { return }
        stream.stopsUploadAfterResponse = false
        uploadsToStop -= 1
    }

    /// A PING of our own (keepalive); nghttp2 consumes the peer's ACK.
    func ping() {
        nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }

    func goAway(errorCode: UInt32) {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode, nil, 0)
    }

    /// Fails every stream: the connection is gone.
    func closeAll() {
        let error = HTTP2Error(.connectionClosed, "the connection closed")
        headerBlockStream = nil
        for stream in streams {
            stream.openIndex = -1
            if mode == .server { nghttp2_session_set_stream_user_data(session, stream.id, nil) }
            stream.isOpen = false
            stream.inbound.fail(error)
            stream.drained?.fail(error)
            stream.drained = nil
            stream.handlerTask?.cancel()
            stream.resetBeforeHandler = true
            stream.responseHead?.fail(error)
            stream.responseHead = nil
        }
        streams.removeAll()
        clientStreams.removeAll()
    }

    func closedError(_ streamID: Int32) -> HTTP2Error {
        HTTP2Error(.streamClosed, "stream \(streamID) is closed", resetCode: 0)
    }

    /// Lays `headers` out as nghttp2 name/value pairs, pointing into the headers' own bytes
    /// (nghttp2 copies them into its frame). With `status` (a response head, 100…999), `:status`
    /// comes first and the caller's own pseudo-header fields are left out. One closure deep, with
    /// the status' digits from a table: no String and no closure context per head.
    fileprivate func withNameValues<R>(
        _ headers: HTTP2Headers,
        status: Int? = nil,
        _ body: (UnsafePointer<nghttp2_nv>, Int) -> R
    ) -> R {
        headers.withFieldCursor { fields in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: headers.count + 1) { nva in
                let flags = UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                var count = 0
                if let status {
                    precondition((100...999).contains(status), "a status has three digits")
                    nva.baseAddress!.initialize(
                        to: nghttp2_nv(
                            name: UnsafeMutablePointer(mutating: statusName.utf8Start),
                            value: statusDigits + (status - 100) * 3,
                            namelen: statusName.utf8CodeUnitCount,
                            valuelen: 3,
                            flags: flags
                        )
                    )
                    count = 1
                }
                while let field = fields.next() {
                    if status != nil && field.name.first == UInt8(ascii: ":") { continue }
                    (nva.baseAddress! + count).initialize(
                        to: nghttp2_nv(
                            name: UnsafeMutablePointer(mutating: field.name.baseAddress),
                            value: UnsafeMutablePointer(mutating: field.value.baseAddress),
                            namelen: field.name.count,
                            valuelen: field.value.count,
                            flags: flags
                        )
                    )
                    count += 1
                }
                return body(nva.baseAddress!, count)
            }
        }
    }

}

private let statusName: StaticString = ":status"

/// "100" to "999", three bytes each, for the `:status` of response heads (made once; never freed).
/// Written only by its initializer; nghttp2 only reads it (the mutable pointer is what its
/// name/value struct holds), so threads may share it.
nonisolated(unsafe) private let statusDigits: UnsafeMutablePointer<UInt8> = {
    let digits = UnsafeMutablePointer<UInt8>.allocate(capacity: 900 * 3)
    for status in 100...999 {
        let at = digits + (status - 100) * 3
        at[0] = UInt8(ascii: "0") + UInt8(status / 100)
        at[1] = UInt8(ascii: "0") + UInt8(status / 10 % 10)
        at[2] = UInt8(ascii: "0") + UInt8(status % 10)
    }
    return digits
}()

func errorString(_ code: Int32) -> String {
    String(cString: nghttp2_strerror(code))
}

extension HTTP2Error {
    /// nghttp2 answered `code` (a negative `nghttp2_error`) to `what`; the code is kept as the cause.
    static func nghttp2(_ what: String, _ code: Int32) -> HTTP2Error {
        HTTP2Error(.protocolError, "\(what): \(errorString(code))", cause: NGHTTP2LibraryError(code: code))
    }
}

/// An nghttp2 return code, as the cause of an `HTTP2Error` (for logs).
struct NGHTTP2LibraryError: Error, Hashable, Sendable, CustomStringConvertible {
    let code: Int32
    var description: String { "nghttp2 error \(code) (\(errorString(code)))" }
}

// MARK: callbacks (file scope: C function pointers capture nothing)

/// Runs `body` with the session a callback's `user_data` points at, without retaining it: the
/// session outlives every call nghttp2 makes into it (it owns the nghttp2 session).
private func withSession<R>(_ userData: UnsafeMutableRawPointer?, _ body: (HTTP2Session) -> R) -> R {
    Unmanaged<HTTP2Session>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}

private let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
    withSession(userData) { session in
        let header = frame!.pointee.hd
        guard header.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
        if session.mode == .server && frame!.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
            let bodyless = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            let stream = session.withConnection { $0.makeRequestStream(id: header.stream_id, bodyless: bodyless) }!
            guard session.add(stream) else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
            session.headerBlockStream = Unmanaged.passUnretained(stream)
        } else {
            session.headerBlockStream = session.stream(header.stream_id).map(Unmanaged.passUnretained)
        }
        return 0
    }
}

private let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
    withSession(userData) { session in
        // A header block (HEADERS and its CONTINUATIONs) arrives whole, with no other frame in
        // between (RFC 9113 §4.3): its fields all belong to the stream of its onBeginHeaders.
        let streamID = frame!.pointee.hd.stream_id
        let isTrailers = frame!.pointee.headers.cat == NGHTTP2_HCAT_HEADERS
        let name = UnsafeBufferPointer(start: name, count: nameLength)
        let value = UnsafeBufferPointer(start: value, count: valueLength)
        if let block = session.headerBlockStream {
            let added = block._withUnsafeGuaranteedRef { stream in
                stream.id == streamID ? session.addField(to: stream, name, value, isTrailers: isTrailers) : nil
            }
            if let added { return added }
        }
        guard let stream = session.stream(streamID) else { return 0 }
        return session.addField(to: stream, name, value, isTrailers: isTrailers)
    }
}

extension HTTP2Session {
    /// One received header field for `stream`'s head or trailers; a callback failure (the stream
    /// is reset) once the block's bytes pass `maxHeaderListSize`.
    fileprivate func addField(
        to stream: HTTP2StreamState,
        _ name: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeBufferPointer<UInt8>,
        isTrailers: Bool
    ) -> Int32 {
        // nghttp2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not enforce it: count here.
        stream.headerBytes += name.count + value.count + 32
        if stream.headerBytes > configuration.maxHeaderListSize {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        if isTrailers {
            // Taken out while it grows, so the stored copy does not make each append copy it.
            var trailers = stream.receivedTrailers.take() ?? HTTP2Headers()
            trailers.addLowercased(name, value)
            stream.receivedTrailers = trailers
        } else {
            stream.headers.addLowercased(name, value)
        }
        return 0
    }
}

private let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
    withSession(userData) { session in
        let header = frame!.pointee.hd
        if header.stream_id == 0 { onConnectionFrame(session, frame!) }
        let type = UInt32(header.type)
        if type == NGHTTP2_PRIORITY.rawValue
            || (type == NGHTTP2_DATA.rawValue && header.length == 0
                && header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) == 0)
        {
            session.glitch()
        }
        if type == NGHTTP2_HEADERS.rawValue, let block = session.headerBlockStream.take() {
            // The header block is complete.
            let handled = block._withUnsafeGuaranteedRef { stream in
                guard stream.id == header.stream_id else { return false }
                session.frameReceived(frame!, type: type, for: stream)
                return true
            }
            if handled { return 0 }
        }
        guard let stream = session.stream(header.stream_id) else { return 0 }
        session.frameReceived(frame!, type: type, for: stream)
        return 0
    }
}

extension HTTP2Session {
    /// A complete HEADERS or DATA frame of `stream`: a request head goes to the connection, a response
    /// head completes the client's promise, END_STREAM ends the inbound body.
    ///
    /// `stream` may be held without a reference (see `headerBlockStream`), so a promise, whose
    /// callbacks run inline and could let the state go, is completed last.
    fileprivate func frameReceived(_ frame: UnsafePointer<nghttp2_frame>, type: UInt32, for stream: HTTP2StreamState) {
        let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        var responseHead: (EventLoopPromise<HTTP2Headers>, HTTP2Headers)?
        defer { responseHead.map { $0.succeed($1) } }
        switch type {
        case NGHTTP2_HEADERS.rawValue:
            let category = frame.pointee.headers.cat
            if category == NGHTTP2_HCAT_REQUEST {
                withConnection { $0.requestHeadReceived(stream) }
            } else if category == NGHTTP2_HCAT_RESPONSE {
                // Completed here, not after mem_recv: the stream may close within the same read.
                responseHead = stream.responseHead.take().map { ($0, stream.headers) }
            }
            if endStream && stream.hasOwnBody {
                let trailers = category == NGHTTP2_HCAT_HEADERS ? stream.receivedTrailers.take() : nil
                stream.inbound.finish(trailers: trailers)
            }
        case NGHTTP2_DATA.rawValue:
            if endStream && stream.hasOwnBody { stream.inbound.finish() }
        default:
            break
        }
    }
}

extension HTTP2Session {
    /// Counts one glitch against the budget.
    func glitch() {
        if !glitches.spend() { glitchBudgetExhausted = true }
    }
}

/// Frames on stream 0 (GOAWAY) are seen here, before the per-stream handling.
private func onConnectionFrame(_ session: HTTP2Session, _ frame: UnsafePointer<nghttp2_frame>) {
    if UInt32(frame.pointee.hd.type) == NGHTTP2_GOAWAY.rawValue {
        session.receivedGoAway = true
    }
}

private let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
    withSession(userData) { session in
        guard let stream = session.stream(streamID), !stream.inbound.isShared else {
            // Data for a stream we no longer track (or, defensively, for one whose HEADERS ended
            // it) still counts against the connection window.
            nghttp2_session_consume_connection(session.session, length)
            return 0
        }
        var chunk = session.allocator.buffer(capacity: length)
        chunk.writeBytes(UnsafeRawBufferPointer(start: data, count: length))
        stream.receivedBytes &+= length
        stream.inbound.append(chunk)
        return 0
    }
}

private let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
    withSession(userData) { session in
        guard var stream = session.remove(streamID) else { return 0 }
        session.forgetUploadToStop(stream)
        defer {
            // A request stream's state that nothing else refers to (its handler has returned and
            // let it go) is kept for the connection's next stream.
            if session.mode == .server && isKnownUniquelyReferenced(&stream) {
                session.withConnection { $0.requestStreamClosed(stream) }
            }
        }
        // The error (and its message) is built only when something will carry it: a normal close of
        // a finished stream, the common case, allocates nothing here.
        var closeError: HTTP2Error?
        func error() -> HTTP2Error {
            if let closeError { return closeError }
            let message =
                errorCode == 0
                ? "stream \(streamID) was closed (NO_ERROR) before it ended"
                : "stream \(streamID) was reset (error \(errorCode))"
            let made = HTTP2Error(.streamClosed, message, resetCode: errorCode)
            closeError = made
            return made
        }
        // Each field is checked before it is touched: loading a reference costs a retain and a
        // release, and most are unset when an ordinary request closes.
        // A body ends cleanly only with its END_STREAM (frameReceived): one still open here was
        // cut off, whatever the code (an RST_STREAM NO_ERROR that stops an upload, say), and fails
        // rather than end as if complete. The error is built only then.
        if stream.hasOwnBody { stream.inbound.fail(error()) }
        // Bytes received but not yet read stay readable; they return their connection-window
        // credit when read, or when the body is dropped unread (HTTP2InboundBody.deinit).
        if let drained = stream.drained.take() { drained.fail(error()) }
        if stream.responseHead != nil { stream.responseHead.take()?.fail(error()) }
        if errorCode != 0 {
            // The peer reset the stream (or it failed): the work for it stops.
            stream.handlerTask?.cancel()
            stream.resetBeforeHandler = true
        }
        return 0
    }
}

private let onFrameSent: nghttp2_on_frame_send_callback = { _, frame, userData in
    withSession(userData) { session in
        let header = frame!.pointee.hd
        switch UInt32(header.type) {
        case NGHTTP2_RST_STREAM.rawValue:
            // Resets and stream errors of ours count against the connection (the MadeYouReset
            // class); NO_ERROR, which stops an upload after a complete response, does not.
            if frame!.pointee.rst_stream.error_code != NGHTTP2_NO_ERROR.rawValue { session.glitch() }
        case NGHTTP2_HEADERS.rawValue, NGHTTP2_DATA.rawValue:
            if header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 { session.sentEndOfStream(header.stream_id) }
        default:
            break
        }
        return 0
    }
}

private let onInvalidFrame: nghttp2_on_invalid_frame_recv_callback = { _, _, _, userData in
    withSession(userData) { $0.glitch() }
    return 0
}

/// Copies queued body bytes into the frame nghttp2 is building; defers when none are queued.
private let readData: nghttp2_data_source_read_callback = {
    _, streamID, buffer, length, flags, source, userData in
    withSession(userData) { session in
        if let attached = source?.pointee.ptr {
            // The state lives while nghttp2 may read its stream (see submitResponse).
            return Unmanaged<HTTP2StreamState>.fromOpaque(attached)._withUnsafeGuaranteedRef { stream in
                session.readBody(of: stream, into: buffer!, length: length, flags: flags!)
            }
        }
        guard let stream = session.stream(streamID) else {
            return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
        }
        return session.readBody(of: stream, into: buffer!, length: length, flags: flags!)
    }
}

extension HTTP2Session {
    /// Fills one DATA frame's payload from `stream`'s queued chunks: the bytes written, with EOF
    /// (and trailers) once the body is done, or DEFERRED when nothing is queued yet.
    fileprivate func readBody(
        of stream: HTTP2StreamState,
        into buffer: UnsafeMutablePointer<UInt8>,
        length: Int,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        var written = 0
        while written < length, var chunk = stream.outbound.first {
            let n = min(length - written, chunk.readableBytes)
            chunk.withUnsafeReadableBytes { bytes in
                (buffer + written).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n)
            }
            chunk.moveReaderIndex(forwardBy: n)
            written += n
            if chunk.readableBytes == 0 {
                stream.outbound.removeFirst()
            } else {
                stream.outbound.replaceFirst(with: chunk)
            }
        }
        stream.outboundBytes -= written
        stream.sentBytes &+= written
        // Completed last: its callbacks run inline and could let the state go, which the caller
        // may hold without a reference.
        var drained: EventLoopPromise<Void>?
        if stream.outboundBytes <= configuration.streamOutboundLowWatermark { drained = stream.drained.take() }
        defer { drained?.succeed(()) }
        if stream.outbound.isEmpty {
            if stream.outboundFinished {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                if let trailers = stream.trailers, trailers.count > 0 {
                    flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                    submitTrailers(streamID: stream.id, trailers)
                }
            } else if written == 0 {
                stream.deferred = true
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return written
    }
}

extension HTTP2Session {
    fileprivate func submitTrailers(streamID: Int32, _ trailers: HTTP2Headers) {
        _ = withNameValues(trailers) { nva, count in
            nghttp2_submit_trailer(session, streamID, nva, count)
        }
    }
}
