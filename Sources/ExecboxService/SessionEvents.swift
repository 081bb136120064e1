import ExecboxStorage
import Foundation
import Synchronization

/// One lifecycle event of a session, as WatchSession sends it.
struct SessionEvent: Sendable {
    enum Kind: Sendable {
        case snapshot, statusChanged, networkChanged, timeoutExtended, expiringSoon, mainProcessExited
    }

    var kind: Kind
    var sequence: UInt64
    var occurredAt: Date
    var previous: SessionStatus
    var session: SessionRecord
    var message: String
}

/// Fans a session's events out to its watchers. Each watcher has a bounded buffer; one that falls
/// more than `bufferLimit` events behind loses the oldest (the sequence numbers show the gap, as
/// session.proto promises), so a stalled watcher never holds memory or the publisher.
final class SessionEvents: Sendable {
    static let bufferLimit = 64

    private struct State {
        var sequences: [String: UInt64] = [:]
        var watchers: [String: [UUID: AsyncStream<SessionEvent>.Continuation]] = [:]
    }

    private let state = Mutex(State())

    func publish(
        _ session: SessionRecord, type kind: SessionEvent.Kind, previous: SessionStatus, at date: Date,
        message: String = ""
    ) {
        let (event, watchers) = state.withLock { state in
            let sequence = (state.sequences[session.id] ?? 0) + 1
            state.sequences[session.id] = sequence
            let event = SessionEvent(
                kind: kind, sequence: sequence, occurredAt: date, previous: previous, session: session,
                message: message)
            return (event, Array((state.watchers[session.id] ?? [:]).values))
        }
        for watcher in watchers { watcher.yield(event) }
    }

    /// Ends every watch of a session (it reached a terminal state) and forgets its counter.
    func finish(_ sessionID: String) {
        let watchers = state.withLock { state in
            state.sequences[sessionID] = nil
            return state.watchers.removeValue(forKey: sessionID)
        }
        for watcher in (watchers ?? [:]).values { watcher.finish() }
    }

    /// Starts receiving a session's events; the current sequence number is the snapshot's.
    func subscribe(_ sessionID: String) -> (sequence: UInt64, events: AsyncStream<SessionEvent>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<SessionEvent>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.bufferLimit))
        let sequence = state.withLock { state in
            state.watchers[sessionID, default: [:]][id] = continuation
            return state.sequences[sessionID] ?? 0
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.watchers[sessionID]?[id] = nil
                if state.watchers[sessionID]?.isEmpty == true { state.watchers[sessionID] = nil }
            }
        }
        return (sequence, stream)
    }
}
