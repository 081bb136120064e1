/// The usage ledger and its hourly and daily roll-ups.
public protocol UsageStore: Sendable {
    /// Records the event and adds it to its hour and day, in one transaction. Returns false,
    /// changing nothing, when an event with the same idempotency key is already recorded.
    func recordUsage(_ event: UsageEvent) async throws -> Bool

    /// Buckets with any usage in the range, oldest first.
    func usage(_ query: UsageQuery) async throws -> [UsageBucket]
}
