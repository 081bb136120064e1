import NIOCore

/// How long a progress counter has stood still, as seen by a periodic check: the connection's
/// once-a-second timer feeds it a stream's counter (bytes sent, or everything that moved) and
/// compares the answer with a timeout. A value type, so it is tested without a connection.
struct StillnessClock {
    private var value = 0
    /// The check that last saw the counter move (or the first check since `reset`).
    private var since: NIODeadline?

    /// Records the counter's `value` at `now`; returns how long it has not moved, counted from the
    /// check that last saw it move: zero when it moved since the last check, or on the first
    /// check after `reset`.
    mutating func stillFor(_ value: Int, at now: NIODeadline) -> TimeAmount {
        guard let since, value == self.value else {
            self.value = value
            self.since = now
            return .zero
        }
        return now - since
    }

    /// Forgets the watch: the next check starts a new one (e.g. the counter is not expected to
    /// move for a while, and that is fine).
    mutating func reset() {
        since = nil
    }
}
