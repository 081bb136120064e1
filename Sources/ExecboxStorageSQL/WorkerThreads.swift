import ExecboxStorage
import Foundation
import Synchronization

/// A fixed set of dedicated threads that run blocking database work. The job gets the index of
/// the worker running it, so a database can give each worker its own connection; jobs wait in
/// one FIFO queue and go to whichever worker is free. None of this touches the cooperative pool:
/// an `async` caller suspends on a continuation until a worker resumes it.
package final class WorkerThreads: Sendable {
    private struct State {
        var jobs: [@Sendable (Int) -> Void] = []
        var head = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeUp = NSCondition()
    private let stopped = DispatchGroup()
    private let count: Int

    package init(name: String, count: Int) {
        self.count = count
        for index in 0..<count {
            stopped.enter()
            let thread = Thread { [self] in
                run(index)
                stopped.leave()
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on a worker thread and returns its result to the suspended caller.
    package func submit<T: Sendable>(_ body: @escaping @Sendable (Int) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job: @Sendable (Int) -> Void = { index in continuation.resume(with: Result { try body(index) }) }
            let accepted = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.jobs.append(job)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: StorageError(code: .unavailable, message: "the store is closed"))
                return
            }
            wake(all: false)
        }
    }

    /// Lets queued jobs finish, then stops the threads and waits for them.
    package func shutdown() async {
        state.withLock { $0.closed = true }
        wake(all: true)
        await withCheckedContinuation { continuation in
            stopped.notify(queue: .global()) { continuation.resume() }
        }
    }

    private func wake(all: Bool) {
        wakeUp.lock()
        if all { wakeUp.broadcast() } else { wakeUp.signal() }
        wakeUp.unlock()
    }

    private func take() -> (@Sendable (Int) -> Void)?? {
        state.withLock { state in
            if state.head < state.jobs.count {
                let job = state.jobs[state.head]
                state.head += 1
                if state.head > 64 && state.head * 2 > state.jobs.count {
                    state.jobs.removeFirst(state.head)
                    state.head = 0
                }
                return .some(job)
            }
            return state.closed ? nil : .some(nil)
        }
    }

    private func run(_ index: Int) {
        while true {
            switch take() {
            case .some(.some(let job)):
                job(index)
            case .some(.none):
                wakeUp.lock()
                // Re-check under the condition's lock so a signal between take() and wait() is not lost.
                let empty = state.withLock { $0.head >= $0.jobs.count && !$0.closed }
                if empty { wakeUp.wait() }
                wakeUp.unlock()
            case .none:
                return
            }
        }
    }
}
