import Foundation
import Synchronization

/// Seconds that move only when a test says so, for token buckets and expiry.
final class ManualClock: Sendable {
    private let seconds = Mutex<Double>(0)
    let origin = Date(timeIntervalSince1970: 1_800_000_000)

    var now: Double { seconds.withLock { $0 } }
    var date: Date { origin.addingTimeInterval(now) }

    func advance(_ delta: Double) {
        seconds.withLock { $0 += delta }
    }

    var monotonic: @Sendable () -> Double { { self.now } }
    var wall: @Sendable () -> Date { { self.date } }
}
