import ExecboxAPI
import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire
import NIOCore
import NIOWebSocket

/// One WebSocket attached to a process through ProcessService (Attach for the session's main
/// process, Exec for a new one): client frames become stdin, stdin close and resize messages;
/// output becomes Stdout/Stderr frames in order, then exactly one Exit frame, then a close 1000.
/// A malformed client frame gets an Error frame and the connection goes on (CONTRACT.md §4.3).
/// The client leaving detaches: an attached process runs on and keeps its stdin open.
struct ProcessBridge: Sendable {
    enum Target: Sendable {
        case attach
        case exec(ExecStart)
    }

    enum Input: Sendable {
        case stdin([UInt8])
        case closeStdin
        case resize(cols: UInt16, rows: UInt16)
    }

    let call: RouteCall
    let connection: WebSocketConnection
    let target: Target

    /// Output frames carry at most this much payload.
    static let maxOutputFrame = 64 << 10
    /// After the server's close, how long the client has to answer with its own.
    static let closeGrace: Duration = .seconds(2)

    enum Ended: Sendable {
        case peerLeft
        case processDone
        case keepaliveTimedOut
    }

    func run() async {
        let (inputs, sink) = AsyncStream.makeStream(of: Input.self)
        await withTaskGroup(of: Ended.self) { group in
            group.addTask { await readFrames(into: sink) }
            group.addTask { await keepalive() }
            group.addTask { await relay(inputs, ending: sink) }
            let first = await group.next()
            if first == .processDone {
                // Give the client a moment to answer the close; its leaving ends the reader.
                group.addTask {
                    try? await Task.sleep(for: Self.closeGrace)
                    return .peerLeft
                }
                _ = await group.next()
            }
            sink.finish()
            group.cancelAll()
        }
    }

    /// Client frames: control frames answered here, data frames decoded into inputs.
    func readFrames(into sink: AsyncStream<Input>.Continuation) async -> Ended {
        while let frame = await connection.receive() {
            switch frame.opcode {
            case .ping:
                try? await connection.send(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
            case .connectionClose:
                await connection.close(Self.closeReply(frame.unmaskedData))
                return .peerLeft
            case .binary, .text:
                do {
                    switch try LegacyFrame.decode(frame.unmaskedData) {
                    case .stdin(let bytes):
                        // ProcessService takes stdin messages of at most 1 MiB.
                        var offset = 0
                        repeat {
                            let end = min(offset + Self.maxStdinMessage, bytes.count)
                            sink.yield(.stdin(Array(bytes[offset..<end])))
                            offset = end
                        } while offset < bytes.count
                    case .stdinClose: sink.yield(.closeStdin)
                    case .resize(let cols, let rows): sink.yield(.resize(cols: cols, rows: rows))
                    case .stdout, .stderr, .exit, .error: break  // server-to-client types: ignored
                    }
                } catch {
                    try? await connection.send(LegacyFrame.error("invalid binary message: \(error.reason)"))
                }
            default:
                continue
            }
        }
        return .peerLeft
    }

    /// Pings after a quiet interval; closes (1001) a peer silent for two.
    func keepalive() async -> Ended {
        let interval = call.configuration.webSocketPingInterval
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            let silent = ContinuousClock.now - connection.lastHeard.withLock { $0 }
            if silent >= interval * 2 {
                await connection.close(.goingAway, reason: "keepalive timed out")
                return .keepaliveTimedOut
            }
            if silent >= interval {
                try? await connection.send(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer()))
            }
        }
        return .peerLeft
    }

    /// Runs the RPC until the process exits (or the call fails), then closes the WebSocket.
    /// Ending `inputs` when the output ends lets the call's request side finish too.
    func relay(_ inputs: AsyncStream<Input>, ending sink: AsyncStream<Input>.Continuation) async -> Ended {
        do {
            let exited: Bool
            switch target {
            case .attach: exited = try await attach(inputs, ending: sink)
            case .exec(let start): exited = try await exec(start, inputs, ending: sink)
            }
            await connection.close(exited ? .normalClosure : .unexpectedServerError, reason: exited ? "exited" : "")
        } catch {
            let failure = GatewayError.from(error)
            try? await connection.send(LegacyFrame.error(failure.detail))
            await connection.close(.unexpectedServerError, reason: failure.code)
        }
        return .processDone
    }

    func attach(_ inputs: AsyncStream<Input>, ending sink: AsyncStream<Input>.Continuation) async throws -> Bool {
        let sessionID = call.parameter("id")
        return try await call.processes.attach(
            metadata: call.metadata,
            requests: { writer in
                try await writer.write(
                    AttachRequest.with {
                        $0.payload = .start(
                            AttachStart.with {
                                $0.sessionId = sessionID
                                $0.stdoutOffset = 0
                                $0.stderrOffset = 0
                            })
                    })
                for await input in inputs {
                    try await writer.write(
                        AttachRequest.with {
                            switch input {
                            case .stdin(let bytes): $0.payload = .stdin(bytes)
                            case .closeStdin: $0.payload = .closeStdin(.init())
                            case .resize(let cols, let rows): $0.payload = .resize(Self.size(cols, rows))
                            }
                        })
                }
            },
            onResponse: { responses in
                defer { sink.finish() }
                for try await response in responses {
                    switch response.payload {
                    case .output(let chunk)?: try await send(chunk)
                    case .exit(let status)?:
                        try await connection.send(LegacyFrame.exit(Self.code(status)))
                        return true
                    case .error(let error)?: try await connection.send(LegacyFrame.error(error.message))
                    case .started?, nil: continue
                    }
                }
                return false
            })
    }

    func exec(_ start: ExecStart, _ inputs: AsyncStream<Input>, ending sink: AsyncStream<Input>.Continuation)
        async throws -> Bool
    {
        try await call.processes.exec(
            metadata: call.metadata,
            requests: { writer in
                try await writer.write(ExecRequest.with { $0.payload = .start(start) })
                for await input in inputs {
                    try await writer.write(
                        ExecRequest.with {
                            switch input {
                            case .stdin(let bytes): $0.payload = .stdin(bytes)
                            case .closeStdin: $0.payload = .closeStdin(.init())
                            case .resize(let cols, let rows): $0.payload = .resize(Self.size(cols, rows))
                            }
                        })
                }
            },
            onResponse: { responses in
                defer { sink.finish() }
                for try await response in responses {
                    switch response.payload {
                    case .output(let chunk)?: try await send(chunk)
                    case .exit(let status)?:
                        try await connection.send(LegacyFrame.exit(Self.code(status)))
                        return true
                    case .error(let error)?: try await connection.send(LegacyFrame.error(error.message))
                    case .started?, nil: continue
                    }
                }
                return false
            })
    }

    /// Output as Stdout or Stderr frames of at most 64 KiB each.
    func send(_ chunk: OutputChunk) async throws {
        var offset = 0
        while offset < chunk.data.count {
            let end = min(offset + Self.maxOutputFrame, chunk.data.count)
            let payload = Array(chunk.data[offset..<end])
            try await connection.send(chunk.stream == .stderr ? LegacyFrame.stderr(payload) : .stdout(payload))
            offset = end
        }
    }

    static let maxStdinMessage = 1 << 20

    /// The answer to a client's Close (RFC 6455 §5.5.1, §7.4): its code echoed when it may appear
    /// on the wire, 1000 for an empty payload, 1002 for a malformed one (one byte, a reserved or
    /// unknown code, a reason that is not UTF-8).
    static func closeReply(_ payload: ByteBuffer) -> WebSocketErrorCode {
        var payload = payload
        guard payload.readableBytes > 0 else { return .normalClosure }
        guard payload.readableBytes >= 2, let raw = payload.readInteger(as: UInt16.self) else { return .protocolError }
        let valid = (1000...1003).contains(raw) || (1007...1011).contains(raw) || (3000...4999).contains(raw)
        guard valid, String(validating: payload.readableBytesView, as: UTF8.self) != nil else { return .protocolError }
        return WebSocketErrorCode(codeNumber: Int(raw))
    }

    /// The exit code legacy clients read: the process's code, or 128 + N for a signal.
    static func code(_ status: ExitStatus) -> Int32 {
        status.signal != 0 && status.exitCode == 0 ? 128 + Int32(clamping: status.signal) : status.exitCode
    }

    static func size(_ cols: UInt16, _ rows: UInt16) -> TerminalSize {
        TerminalSize.with {
            $0.cols = UInt32(cols)
            $0.rows = UInt32(rows)
        }
    }
}
