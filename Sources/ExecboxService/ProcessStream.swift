import ExecboxAPI
import ExecboxRPC
import ExecboxSandbox
import ExecboxWire
import Foundation
import Synchronization

/// What a client sends on Exec and Attach after `start`, in one shape for both.
enum ProcessInput: Sendable {
    case start
    case stdin([UInt8])
    case closeStdin
    case resize(ExecboxAPI.TerminalSize)
    case signal(ExecboxAPI.Signal)
    case empty

    init(_ request: ExecRequest) {
        switch request.payload {
        case .start: self = .start
        case .stdin(let bytes): self = .stdin(bytes)
        case .closeStdin: self = .closeStdin
        case .resize(let size): self = .resize(size)
        case .signal(let signal): self = .signal(signal)
        case nil: self = .empty
        }
    }

    init(_ request: AttachRequest) {
        switch request.payload {
        case .start: self = .start
        case .stdin(let bytes): self = .stdin(bytes)
        case .closeStdin: self = .closeStdin
        case .resize(let size): self = .resize(size)
        case .signal(let signal): self = .signal(signal)
        case nil: self = .empty
        }
    }
}

/// What the server sends on Exec and Attach, in one shape for both.
enum ProcessOutput: Sendable {
    case started(ProcessStarted)
    case attached(AttachStarted)
    case output(OutputChunk)
    case exit(ExecboxAPI.ExitStatus)
    case error(StreamError)
}

/// Runs one Exec or Attach stream against a process: the client's messages go to the process
/// (stdin with backpressure, close, resize, signals) while its output goes to the client, chunked
/// to at most 64 KiB with per-stream offsets, and its exit last, only after all output was sent.
///
/// Problems with one client message (stdin after close, a resize without a TTY) are reported as
/// `error` messages and the stream goes on; a second `start` ends the call with INVALID_ARGUMENT.
struct ProcessStream: Sendable {
    /// Which side of a call finished.
    enum Part { case input, main }

    static let maxChunk = 64 << 10
    static let maxStdinMessage = 1 << 20

    /// Where each stream's output starts, and the bytes below which replayed output is skipped.
    struct Offsets: Sendable {
        var stdout: UInt64
        var stderr: UInt64
        var skipStdoutBelow: UInt64 = 0
        var skipStderrBelow: UInt64 = 0
    }

    let writer: SerialWriter<ProcessOutput>
    /// Half-closing the request stream closes stdin (Exec) or only detaches input (Attach).
    let closeStdinOnHalfClose: Bool

    /// Bytes written to stdin and sent as output, for usage.
    final class Counters: Sendable {
        let state = Mutex((bytesIn: 0, bytesOut: 0))
        var bytesIn: Int { state.withLock { $0.bytesIn } }
        var bytesOut: Int { state.withLock { $0.bytesOut } }
    }

    let counters = Counters()

    /// The exec a call started, once the backend named it.
    final class Launched: Sendable {
        private let state = Mutex<ExecID?>(nil)
        var id: ExecID? { state.withLock { $0 } }
        func set(_ id: ExecID?) { state.withLock { $0 = id } }
    }

    /// Serves one Exec or Attach call: reads the client's messages in one task (``readInputs``) and
    /// runs `body` with the first one in another. `body` hands the process to the input side through
    /// the continuation once it has one. The call ends when `body` returns (the input side is then
    /// cancelled) or when the input side fails (a second `start`, an oversized message), which
    /// cancels `body` — a foreground exec is then killed by its backend.
    static func serve<Request: Sendable>(
        _ requests: RPCAsyncSequence<Request>,
        writer: SerialWriter<ProcessOutput>,
        closeStdinOnHalfClose: Bool,
        map: @escaping @Sendable (Request) -> ProcessInput,
        body:
            @escaping @Sendable (Request, ProcessStream, AsyncStream<any ExecProcess>.Continuation) async throws
            -> Void
    ) async throws {
        let stream = ProcessStream(writer: writer, closeStdinOnHalfClose: closeStdinOnHalfClose)
        let (firsts, first) = AsyncStream<Request?>.makeStream()
        let (processes, slot) = AsyncStream<any ExecProcess>.makeStream(bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Part.self) { group in
            group.addTask {
                try await stream.readInputs(requests, first: first, process: processes, map: map)
                return .input
            }
            group.addTask {
                defer { slot.finish() }
                var iterator = firsts.makeAsyncIterator()
                guard let request = await iterator.next() ?? nil else {
                    throw Validation.invalid("the first message must be start")
                }
                try await body(request, stream, slot)
                return .main
            }
            while let part = try await group.next() {
                if part == .main {
                    group.cancelAll()
                    return
                }
            }
        }
    }

    /// Reads the client's messages for the whole call: the first one (`start`, or nil when the
    /// client sent nothing) goes to `first`; the others wait for the process from `process` and go
    /// to it one at a time, so a client writing stdin faster than the process reads it is held back
    /// by the HTTP/2 window rather than a buffer. Ends at the client's half-close or a cancel.
    func readInputs<Request: Sendable>(
        _ requests: RPCAsyncSequence<Request>,
        first: AsyncStream<Request?>.Continuation,
        process processes: AsyncStream<any ExecProcess>,
        map: @Sendable (Request) -> ProcessInput
    ) async throws {
        var delivered = false
        defer {
            if !delivered { first.yield(nil) }
            first.finish()
        }
        var target: (any ExecProcess)?
        for try await request in requests {
            guard delivered else {
                delivered = true
                first.yield(request)
                first.finish()
                continue
            }
            if target == nil {
                for await process in processes {
                    target = process
                    break
                }
            }
            guard let process = target else { return }
            try await apply(map(request), to: process)
        }
        guard delivered, closeStdinOnHalfClose else { return }
        if target == nil {
            for await process in processes {
                target = process
                break
            }
        }
        try? await target?.closeStdin()
    }

    private func apply(_ input: ProcessInput, to process: any ExecProcess) async throws {
        switch input {
        case .start:
            throw Validation.invalid("start must be the first message, and only the first")
        case .empty:
            await report(.invalidMessage, "a message without a payload was ignored")
        case .stdin(let bytes):
            guard !bytes.isEmpty else { return }
            guard bytes.count <= Self.maxStdinMessage else {
                throw Validation.invalid("stdin messages must be at most 1 MiB")
            }
            do {
                try await process.writeStdin(bytes)
                counters.state.withLock { $0.bytesIn += bytes.count }
            } catch let error as SandboxError where error.code == .failedPrecondition {
                await report(.stdinClosed, "stdin is closed; \(bytes.count) bytes were dropped")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                await report(.stdinWriteFailed, "writing stdin failed")
            }
        case .closeStdin:
            try? await process.closeStdin()
        case .resize(let size):
            guard (1...65535).contains(size.cols), (1...65535).contains(size.rows) else {
                await report(.resizeFailed, "terminal size must be 1 to 65535 columns and rows")
                return
            }
            do {
                try await process.resize(
                    ExecboxSandbox.TerminalSize(columns: UInt16(size.cols), rows: UInt16(size.rows)))
            } catch {
                await report(.resizeFailed, (error as? SandboxError)?.message ?? "resize failed")
            }
        case .signal(let signal):
            guard signal != .unspecified, signal.rawValue > 0 else {
                await report(.signalFailed, "SIGNAL_UNSPECIFIED cannot be sent")
                return
            }
            do {
                try await process.signal(signal.rawValue)
            } catch {
                await report(.signalFailed, (error as? SandboxError)?.message ?? "signal failed")
            }
        }
    }

    private func report(_ code: StreamErrorCode, _ message: String) async {
        _ = try? await writer.write(
            .error(
                StreamError.with {
                    $0.code = code
                    $0.message = message
                }))
    }

    /// Sends the process's output until its exit, which it returns (nil: the output ended without
    /// one, a detach). The caller sends the exit.
    func output(of process: any ExecProcess, offsets start: Offsets) async throws -> ProcessExit? {
        var stdoutOffset = start.stdout
        var stderrOffset = start.stderr
        while let event = try await process.nextEvent() {
            switch event {
            case .stdout(let bytes):
                try await send(bytes, stdout: true, offset: &stdoutOffset, skipBelow: start.skipStdoutBelow)
            case .stderr(let bytes):
                try await send(bytes, stdout: false, offset: &stderrOffset, skipBelow: start.skipStderrBelow)
            case .exit(let exit):
                return exit
            }
        }
        return nil
    }

    private func send(_ bytes: [UInt8], stdout: Bool, offset: inout UInt64, skipBelow: UInt64) async throws {
        var start = 0
        if offset < skipBelow {
            let skip = Int(min(UInt64(bytes.count), skipBelow - offset))
            start = skip
            offset += UInt64(skip)
        }
        while start < bytes.count {
            let end = min(bytes.count, start + Self.maxChunk)
            let chunk = OutputChunk.with {
                $0.stream = stdout ? .stdout : .stderr
                $0.offset = Int64(offset)
                $0.data = Array(bytes[start..<end])
            }
            try await writer.write(.output(chunk))
            counters.state.withLock { $0.bytesOut += end - start }
            offset += UInt64(end - start)
            start = end
        }
    }
}
