import NIOCore

/// A token bucket for the protocol "glitches" a peer causes on one connection: resets the server
/// must send, invalid frames, empty DATA and PRIORITY frames. Spending past the burst (refilled
/// at a rate) sends GOAWAY — the defence nghttp2 1.52 lacks against MadeYouReset and empty-frame
/// floods. A rate, not a total, so a long-lived connection that errs now and then is never cut.
struct GlitchBudget {
    private let burst: Double
    private let perSecond: Double
    private var tokens: Double
    private var last: NIODeadline

    init(burst: Int, perSecond: Int, now: NIODeadline = .now()) {
        self.burst = Double(burst)
        self.perSecond = Double(perSecond)
        self.tokens = Double(burst)
        self.last = now
    }

    /// Spends one token; false when the budget is exhausted.
    mutating func spend(now: NIODeadline = .now()) -> Bool {
        let elapsed = Double((now - last).nanoseconds) / 1e9
        last = now
        tokens = min(burst, tokens + elapsed * perSecond)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
