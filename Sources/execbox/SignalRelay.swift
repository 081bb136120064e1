import Synchronization
import UnixSignals

/// Traps SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH for the length of a `run` or `exec` and
/// hands each to whoever listens now: the set-up (which gives up and cleans up), then the
/// process (which receives them). Unheard signals are dropped, so the CLI never dies half-way
/// with a session left behind.
final class SignalRelay: Sendable {
    private let listener = Mutex<AsyncStream<UnixSignal>.Continuation?>(nil)
    private let interrupted = Mutex(false)

    /// Runs `body` with the signals trapped.
    static func trapping<T: Sendable>(_ body: (SignalRelay) async throws -> T) async throws -> T {
        let sequence = await UnixSignalsSequence(trapping: .sigint, .sigterm, .sighup, .sigquit, .sigwinch)
        let relay = SignalRelay()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await signal in sequence {
                    if signal != .sigwinch { relay.interrupted.withLock { $0 = true } }
                    _ = relay.listener.withLock { $0?.yield(signal) }
                }
            }
            defer { group.cancelAll() }
            return try await body(relay)
        }
    }

    /// The signals from now until the stream is dropped or the next call to `signals()`.
    func signals() -> AsyncStream<UnixSignal> {
        let (stream, continuation) = AsyncStream<UnixSignal>.makeStream()
        listener.withLock {
            $0?.finish()
            $0 = continuation
        }
        return stream
    }

    /// Whether SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived since the last call: a set-up step
    /// that cannot be interrupted (creating the session) checks it when done.
    func takeInterrupted() -> Bool {
        interrupted.withLock { flag in
            defer { flag = false }
            return flag
        }
    }

    /// Stops listening: signals arriving from now on are dropped.
    func stopListening() {
        listener.withLock {
            $0?.finish()
            $0 = nil
        }
    }
}
