import NIOCore
import Testing

@testable import ExecboxHTTP2

/// The clock behind `sendStallTimeout` and `streamIdleTimeout`, fed as the once-a-second check
/// feeds it.
struct StillnessClockTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test func countsFromTheCheckThatLastSawMovement() {
        var clock = StillnessClock()
        #expect(clock.stillFor(0, at: at(0)) == .zero)
        #expect(clock.stillFor(0, at: at(1)) == .seconds(1))
        #expect(clock.stillFor(0, at: at(3)) == .seconds(3))
        // Movement restarts the count at the check that saw it.
        #expect(clock.stillFor(10, at: at(4)) == .zero)
        #expect(clock.stillFor(10, at: at(6)) == .seconds(2))
    }

    @Test func theFirstCheckStartsTheWatchWhateverTheValue() {
        var clock = StillnessClock()
        #expect(clock.stillFor(42, at: at(5)) == .zero)
        #expect(clock.stillFor(42, at: at(7)) == .seconds(2))
    }

    @Test func resetStartsANewWatch() {
        var clock = StillnessClock()
        _ = clock.stillFor(7, at: at(0))
        #expect(clock.stillFor(7, at: at(5)) == .seconds(5))
        clock.reset()
        // Unchanged value, but a new watch: the time before the reset does not count.
        #expect(clock.stillFor(7, at: at(6)) == .zero)
        #expect(clock.stillFor(7, at: at(8)) == .seconds(2))
    }

    @Test func aCounterThatWrapsBackToItsValueStillCountsAsMoved() {
        // Only equality with the last seen value matters: 5 → 9 → 5 moved twice.
        var clock = StillnessClock()
        _ = clock.stillFor(5, at: at(0))
        #expect(clock.stillFor(9, at: at(1)) == .zero)
        #expect(clock.stillFor(5, at: at(2)) == .zero)
    }
}
