import ExecboxAPI
import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire
import UnixSignals

/// One Exec call driven from the terminal: the caller's stdin goes in, output comes out as it
/// arrives, signals are passed on (SIGWINCH as a resize), and the exit comes back. Three presses
/// of Ctrl-C without a TTY give up on the process: the call is cancelled, which kills it.
struct ExecRunner: Sendable {
    var start: ExecStart
    /// Send the caller's stdin; otherwise the process's stdin is closed at once.
    var forwardStdin: Bool
    var output: ProcessOutput

    /// Thrown when the user gave up with repeated Ctrl-C.
    struct Aborted: Error {}

    func run(_ api: APIClient, signals: AsyncStream<UnixSignal>) async throws -> ProcessResult {
        let (ended, endedContinuation) = AsyncStream<Void>.makeStream()
        let (aborted, abortContinuation) = AsyncStream<Void>.makeStream()
        return try await withThrowingTaskGroup(of: ProcessResult?.self) { group in
            group.addTask {
                defer { endedContinuation.finish() }
                return try await api.processes.exec(
                    requests: { writer in
                        await send(to: writer, signals: signals, until: ended, abort: abortContinuation)
                    },
                    onResponse: { responses in
                        defer { endedContinuation.finish() }
                        return try await receive(responses)
                    }
                )
            }
            group.addTask {
                var iterator = aborted.makeAsyncIterator()
                _ = await iterator.next()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else { throw Aborted() }
            return result
        }
    }

    /// The request side: `start`, then stdin and signals until the responses end. Failures to
    /// write end it quietly: the response side reports what happened to the call.
    private func send(
        to writer: RPCWriter<ExecRequest>,
        signals: AsyncStream<UnixSignal>,
        until ended: AsyncStream<Void>,
        abort: AsyncStream<Void>.Continuation
    ) async {
        do {
            try await writer.write(.with { $0.payload = .start(start) })
        } catch {
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pumpStdin(to: writer) }
            group.addTask { await forward(signals, to: writer, abort: abort) }
            for await _ in ended {}
            group.cancelAll()
        }
    }

    private func pumpStdin(to writer: RPCWriter<ExecRequest>) async {
        let close = ExecRequest.with { $0.payload = .closeStdin(Google_Protobuf_Empty()) }
        guard forwardStdin else {
            try? await writer.write(close)
            return
        }
        while true {
            guard let chunk = try? await BlockingRead.read(StandardStream.input.fd) else { return }
            if chunk.isEmpty {
                try? await writer.write(close)
                return
            }
            do {
                try await writer.write(.with { $0.payload = .stdin(chunk) })
            } catch {
                return
            }
        }
    }

    private func forward(
        _ signals: AsyncStream<UnixSignal>,
        to writer: RPCWriter<ExecRequest>,
        abort: AsyncStream<Void>.Continuation
    ) async {
        var interrupts = 0
        for await signal in signals {
            let message: ExecRequest.Payload
            switch signal {
            case .sigwinch:
                guard start.tty, let size = Terminal.size() ?? Terminal.size(StandardStream.input.fd) else { continue }
                message = .resize(size)
            case .sigint:
                interrupts += 1
                if interrupts >= 3 {
                    output.note("interrupted three times; giving up on the process")
                    abort.yield()
                    return
                }
                message = .signal(.int)
            case .sigterm: message = .signal(.term)
            case .sighup: message = .signal(.hup)
            case .sigquit: message = .signal(.quit)
            default: continue
            }
            do {
                try await writer.write(.with { $0.payload = message })
            } catch {
                return
            }
        }
    }

    /// The response side: output as it comes, then the exit, which is the last message.
    private func receive(_ responses: RPCAsyncSequence<ExecResponse>) async throws -> ProcessResult {
        var processID = ""
        var exit: ExitStatus?
        for try await response in responses {
            switch response.payload {
            case .started(let started):
                processID = started.processId
            case .output(let chunk):
                try output.write(chunk)
            case .exit(let status):
                exit = status
            case .error(let problem):
                switch problem.code {
                case .stdinWriteFailed, .stdinClosed, .signalFailed: break
                default: output.note("warning: \(problem.message)")
                }
            case nil:
                break
            }
        }
        guard let exit else {
            throw CLIError("the server ended the process's stream without its exit status")
        }
        return ProcessResult(processID: processID, exit: exit)
    }
}
