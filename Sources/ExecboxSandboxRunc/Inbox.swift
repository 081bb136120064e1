import Synchronization

/// An unbounded queue with one consumer whose `next` ignores cancellation, for the few control events
/// of a sandbox's supervisor (which must keep running while a shutdown kills its sandbox).
final class Inbox<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var waiter: CheckedContinuation<Element, Never>?
    }

    private let state = Mutex(State())

    init() {}

    func send(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.buffer.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    func next() async -> Element {
        await withCheckedContinuation { continuation in
            let element = state.withLock { state -> Element? in
                if !state.buffer.isEmpty { return state.buffer.removeFirst() }
                precondition(state.waiter == nil, "an inbox has one consumer")
                state.waiter = continuation
                return nil
            }
            if let element { continuation.resume(returning: element) }
        }
    }
}
