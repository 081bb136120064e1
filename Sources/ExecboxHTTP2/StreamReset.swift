import NIOConcurrencyHelpers
import NIOCore

/// Suspends until the stream is reset by the peer (or the connection drops), or until the
/// calling task is cancelled: the signal that cancels a handler whose stream went away.
func waitForReset(_ closed: EventLoopFuture<UInt32>) async {
    let waiter = ResetWaiter()
    await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiter.park(continuation)
            closed.whenComplete { result in
                if case .success(0) = result { return }
                waiter.wake()
            }
        }
    } onCancel: {
        waiter.wake()
    }
}

/// Resumes a parked continuation exactly once, whichever of wake and park comes first.
private final class ResetWaiter: Sendable {
    private enum State {
        case idle
        case parked(CheckedContinuation<Void, Never>)
        case woken
    }

    private let state = NIOLockedValueBox(State.idle)

    func park(_ continuation: CheckedContinuation<Void, Never>) {
        let resumeNow = state.withLockedValue { state in
            if case .woken = state { return true }
            state = .parked(continuation)
            return false
        }
        if resumeNow { continuation.resume() }
    }

    func wake() {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            defer { state = .woken }
            if case .parked(let continuation) = state { return continuation }
            return nil
        }
        continuation?.resume()
    }
}
