import ExecboxRPC
import Synchronization

/// One response stream written from several tasks (output from one, input errors from another):
/// writes happen one at a time, in the order they were asked for, and nothing follows the final
/// message (an exec's `exit` is always its last). Waiting writers queue in FIFO order. A stream has
/// two writers, so at most one waits.
final class SerialWriter<Message: Sendable>: Sendable {
    private struct State {
        var busy = false
        var finished = false
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private enum Decision { case go, stop, wait }

    private let writer: RPCWriter<Message>
    private let state = Mutex(State())

    init(_ writer: RPCWriter<Message>) {
        self.writer = writer
    }

    /// Writes `message` unless the final message went out; returns whether it was written.
    @discardableResult
    func write(_ message: Message, final: Bool = false) async throws -> Bool {
        guard await acquire() else { return false }
        defer { release(finishing: final) }
        try await writer.write(message)
        return true
    }

    private func acquire() async -> Bool {
        let decision = state.withLock { state -> Decision in
            if state.finished { return .stop }
            if !state.busy {
                state.busy = true
                return .go
            }
            return .wait
        }
        switch decision {
        case .go: return true
        case .stop: return false
        case .wait:
            return await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool? in
                    if state.finished { return false }
                    if !state.busy {
                        state.busy = true
                        return true
                    }
                    state.waiters.append(continuation)
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        }
    }

    private func release(finishing: Bool) {
        let wake = state.withLock { state -> [(CheckedContinuation<Bool, Never>, Bool)] in
            if finishing {
                state.finished = true
                state.busy = false
                defer { state.waiters = [] }
                return state.waiters.map { ($0, false) }
            }
            guard !state.waiters.isEmpty else {
                state.busy = false
                return []
            }
            // The lock passes straight to the oldest waiter.
            return [(state.waiters.removeFirst(), true)]
        }
        for (continuation, value) in wake { continuation.resume(returning: value) }
    }
}
