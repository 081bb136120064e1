import Glibc
import Synchronization

/// One epoll thread that tells async code when descriptors are ready, so pipes and pidfds are never
/// read by a blocked thread of the cooperative pool. Descriptors are registered edge-triggered once;
/// a readiness edge that arrives with nobody waiting is remembered until the next `wait`.
///
/// Callers read or write until EAGAIN, then `wait` for any of their descriptors. Nothing is read on
/// anyone's behalf: a consumer that stops calling leaves the data in the pipe (backpressure).
final class FileDescriptorPoller: Sendable {
    static let shared = FileDescriptorPoller()

    private struct Waiter {
        var fds: [Int32]
        var continuation: CheckedContinuation<Int32, any Error>
    }

    private struct State {
        /// Descriptor → whether an edge arrived that no waiter consumed yet.
        var ready: [Int32: Bool] = [:]
        /// Descriptor → the waiter parked on it.
        var parked: [Int32: UInt64] = [:]
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let epollFD: Int32
    private let state = Mutex(State())

    private init() {
        epollFD = LinuxCalls.epollCreate()
        precondition(epollFD >= 0, "epoll_create1 failed: \(errno)")
        let epollFD = epollFD
        Self.startThread { [unowned self] in
            var buffer = [UInt8](repeating: 0, count: 64 * LinuxCalls.epollEventSize)
            while true {
                for fd in LinuxCalls.epollWait(epollFD, into: &buffer) { self.signal(fd) }
            }
        }
    }

    private static func startThread(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
                return nil
            },
            box
        )
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    enum Interest {
        case read, write
    }

    /// Watches `fd` until `deregister`. The descriptor counts as ready at first, so the first `wait`
    /// returns at once and the caller tries its I/O.
    func register(_ fd: Int32, for interest: Interest) throws(SystemError) {
        state.withLock { $0.ready[fd] = true }
        let direction = interest == .read ? LinuxCalls.epollIn : LinuxCalls.epollOut
        let events = direction | LinuxCalls.epollEdgeTriggered | LinuxCalls.epollRdHup
        guard LinuxCalls.epollAdd(epollFD, fd, events: events) == 0 else {
            let error = SystemError("epoll_ctl(ADD)")
            state.withLock { _ = $0.ready.removeValue(forKey: fd) }
            throw error
        }
    }

    /// Stops watching `fd`; call before closing it. A task waiting on it, or starting to wait on it
    /// later, gets `CancellationError`.
    func deregister(_ fd: Int32) {
        LinuxCalls.epollDelete(epollFD, fd)
        let orphan = state.withLock { state -> CheckedContinuation<Int32, any Error>? in
            state.ready.removeValue(forKey: fd)
            guard let id = state.parked[fd] else { return nil }
            return Self.unpark(id, in: &state)?.continuation
        }
        orphan?.resume(throwing: CancellationError())
    }

    /// Suspends until one of `fds` is ready and returns it (consuming its edge).
    func wait(_ fds: [Int32]) async throws -> Int32 {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await park(id, on: fds, cancellable: true)
        } onCancel: {
            let waiter = state.withLock { Self.unpark(id, in: &$0) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Like `wait`, but ignores cancellation: for waits that must finish (a sandbox's init exiting
    /// after a shutdown killed it). Throws only if a descriptor is deregistered.
    func waitIgnoringCancellation(_ fds: [Int32]) async throws -> Int32 {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await park(id, on: fds, cancellable: false)
    }

    private func park(_ id: UInt64, on fds: [Int32], cancellable: Bool) async throws -> Int32 {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            enum Outcome {
                case ready(Int32)
                case cancelled
                case parked
            }
            let outcome = state.withLock { state -> Outcome in
                if cancellable && Task.isCancelled { return .cancelled }
                // A descriptor deregistered meanwhile would never be signalled.
                if fds.contains(where: { state.ready[$0] == nil }) { return .cancelled }
                for fd in fds where state.ready[fd] == true {
                    state.ready[fd] = false
                    return .ready(fd)
                }
                for fd in fds {
                    precondition(state.parked[fd] == nil, "two tasks wait on descriptor \(fd)")
                    state.parked[fd] = id
                }
                state.waiters[id] = Waiter(fds: fds, continuation: continuation)
                return .parked
            }
            switch outcome {
            case .ready(let fd): continuation.resume(returning: fd)
            case .cancelled: continuation.resume(throwing: CancellationError())
            case .parked: break
            }
        }
    }

    private func signal(_ fd: Int32) {
        let resumed = state.withLock { state -> CheckedContinuation<Int32, any Error>? in
            guard state.ready[fd] != nil else { return nil }  // deregistered meanwhile
            if let id = state.parked[fd], let waiter = Self.unpark(id, in: &state) {
                return waiter.continuation
            }
            state.ready[fd] = true
            return nil
        }
        resumed?.resume(returning: fd)
    }

    private static func unpark(_ id: UInt64, in state: inout State) -> Waiter? {
        guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
        for fd in waiter.fds where state.parked[fd] == id { state.parked[fd] = nil }
        return waiter
    }
}
