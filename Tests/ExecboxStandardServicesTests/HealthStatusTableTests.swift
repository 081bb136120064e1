import ExecboxAPI
import Testing

@testable import ExecboxStandardServices

/// The health state machine without streams: watchers are plain numbers.
@Suite struct HealthStatusTableTests {
    @Test func changesTellOnlyTheWatchersOfThatService() {
        var table = HealthStatusTable<Int>(statuses: ["": .serving, "a": .serving])
        let first = table.addWatcher(1, for: "a")
        _ = table.addWatcher(2, for: "")
        #expect(first.first == .serving)
        #expect(table.set(.notServing, for: "a") == [1])
        #expect(table.set(.notServing, for: "a") == [], "an unchanged status tells nobody")
        #expect(table.status(of: "a") == .notServing)
    }

    @Test func anUnknownServiceIsWatchedUntilItAppears() {
        var table = HealthStatusTable<Int>(statuses: [:])
        let watch = table.addWatcher(7, for: "later")
        #expect(watch.first == .serviceUnknown)
        #expect(table.status(of: "later") == nil)
        #expect(table.set(.serving, for: "later") == [7])
        #expect(table.remove("later") == [7])
        #expect(table.status(of: "later") == nil)
    }

    @Test func removedWatchersAreNotTold() {
        var table = HealthStatusTable<Int>(statuses: ["": .serving])
        let watch = table.addWatcher(1, for: "")
        table.removeWatcher(watch.id)
        #expect(table.set(.notServing, for: "") == [])
    }

    @Test func shutdownIsFinal() {
        var table = HealthStatusTable<Int>(statuses: ["": .serving, "a": .unknown])
        _ = table.addWatcher(1, for: "")
        _ = table.addWatcher(2, for: "nope")
        let told = table.shutdown()
        #expect(Set(told.map(\.watcher)) == [1, 2])
        #expect(told.first { $0.watcher == 1 }?.last == .notServing)
        #expect(told.first { $0.watcher == 2 }?.last == .serviceUnknown)
        #expect(table.statuses == ["": .notServing, "a": .notServing])
        #expect(table.set(.serving, for: "") == [])
        #expect(table.status(of: "") == .notServing, "a draining server is never healthy again")
        #expect(table.isShutDown)
    }
}
