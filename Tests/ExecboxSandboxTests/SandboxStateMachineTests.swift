import ExecboxSandbox
import Testing

/// Every (state, event) pair the machine can meet, against a table written from the lifecycle's rules,
/// plus whole lifecycles and a random walk over event sequences.
@Suite struct SandboxStateMachineTests {
    typealias Event = SandboxStateMachine.Event
    typealias Action = SandboxStateMachine.Action

    static let grace = Duration.seconds(5)
    static let oom = ProcessExit(reason: .oomKilled, code: 137, signal: 9)

    /// Named starting points, each reached through public events only.
    static let starts: [(name: String, events: [Event], state: SandboxState)] = [
        ("creating", [], .creating),
        ("creating+stop", [.stopRequested(grace: grace)], .creating),
        ("creating+kill", [.killRequested], .creating),
        ("creating+timeout", [.timeoutFired], .creating),
        ("created", [.created], .creating),
        ("running", [.created, .started], .running),
        ("stopping/graceful", [.created, .started, .stopRequested(grace: grace)], .stopping),
        ("stopping/graceful+killSent", [.created, .started, .stopRequested(grace: grace), .graceExpired], .stopping),
        ("stopping/kill", [.created, .started, .killRequested], .stopping),
        ("stopping/timeout", [.created, .started, .timeoutFired], .stopping),
        ("stopping/idle", [.created, .started, .idleTimeoutFired], .stopping),
        ("stopped", [.created, .started, .mainExited(.exited(0))], .stopped),
        ("failed", [.created, .started, .mainExited(.exited(1))], .failed),
        ("killed", [.created, .started, .killRequested, .mainExited(.signaled(9))], .killed),
        ("timedOut", [.created, .started, .timeoutFired, .mainExited(.signaled(9))], .timedOut),
        ("lost", [.created, .started, .lost("gone")], .lost),
    ]

    static let events: [(name: String, event: Event)] = [
        ("created", .created),
        ("createFailed", .createFailed("boom")),
        ("started", .started),
        ("stop", .stopRequested(grace: grace)),
        ("kill", .killRequested),
        ("timeout", .timeoutFired),
        ("idle", .idleTimeoutFired),
        ("grace", .graceExpired),
        ("exit0", .mainExited(.exited(0))),
        ("exit3", .mainExited(.exited(3))),
        ("sig9", .mainExited(.signaled(9))),
        ("oom", .mainExited(oom)),
        ("lost", .lost("gone")),
    ]

    enum Outcome: Equatable, CustomStringConvertible {
        case illegal
        case moves(Action, SandboxState)

        var description: String {
            switch self {
            case .illegal: "illegal"
            case .moves(let action, let state): "\(action) → \(state)"
            }
        }
    }

    /// The lifecycle's rules, written per starting point.
    static func expected(_ start: String, _ event: String) -> Outcome {
        let killed = ProcessExit(reason: .killed, code: 137, signal: 9)
        let timedOut = ProcessExit(reason: .timeout, code: 137, signal: 9)
        let idle = ProcessExit(reason: .idleTimeout, code: 137, signal: 9)
        func terminalIgnoring(_ state: SandboxState) -> Outcome {
            event == "created" ? .illegal : .moves(.none, state)
        }
        switch start {
        case "creating", "creating+stop", "creating+kill", "creating+timeout":
            let pending: SandboxState? =
                switch start {
                case "creating+stop": .stopped
                case "creating+kill": .killed
                case "creating+timeout": .timedOut
                default: nil
                }
            switch event {
            case "created": return pending.map { .moves(.destroy(exit: nil), $0) } ?? .moves(.start, .creating)
            case "createFailed": return .moves(.destroy(exit: nil), .failed)
            case "lost": return .moves(.destroy(exit: nil), .lost)
            case "stop", "kill", "timeout", "idle", "grace": return .moves(.none, .creating)
            default: return .illegal
            }
        case "created":
            switch event {
            case "started": return .moves(.armTimers, .running)
            case "stop": return .moves(.destroy(exit: nil), .stopped)
            case "kill": return .moves(.destroy(exit: nil), .killed)
            case "timeout": return .moves(.destroy(exit: nil), .timedOut)
            case "idle", "grace": return .moves(.none, .creating)
            case "createFailed": return .moves(.destroy(exit: nil), .failed)
            case "lost": return .moves(.destroy(exit: nil), .lost)
            case "exit0": return .moves(.destroy(exit: .exited(0)), .failed)
            case "exit3": return .moves(.destroy(exit: .exited(3)), .failed)
            case "sig9": return .moves(.destroy(exit: .signaled(9)), .failed)
            case "oom": return .moves(.destroy(exit: oom), .failed)
            default: return .illegal
            }
        case "running":
            switch event {
            case "stop": return .moves(.terminate(grace: grace), .stopping)
            case "kill", "timeout", "idle": return .moves(.killAll, .stopping)
            case "grace": return .moves(.none, .running)
            case "exit0": return .moves(.destroy(exit: .exited(0)), .stopped)
            case "exit3": return .moves(.destroy(exit: .exited(3)), .failed)
            case "sig9": return .moves(.destroy(exit: .signaled(9)), .failed)
            case "oom": return .moves(.destroy(exit: oom), .failed)
            case "lost": return .moves(.destroy(exit: nil), .lost)
            default: return .illegal
            }
        case "stopping/graceful", "stopping/graceful+killSent", "stopping/kill", "stopping/timeout",
            "stopping/idle":
            let killSent = start != "stopping/graceful"
            let (endState, signalExit): (SandboxState, ProcessExit) =
                switch start {
                case "stopping/kill": (.killed, killed)
                case "stopping/timeout": (.timedOut, timedOut)
                case "stopping/idle": (.stopped, idle)
                default: (.stopped, killed)
                }
            switch event {
            case "grace": return .moves(killSent ? .none : .killAll, .stopping)
            case "kill": return .moves(killSent ? .none : .killAll, .stopping)
            case "stop", "timeout", "idle": return .moves(.none, .stopping)
            case "exit0": return .moves(.destroy(exit: .exited(0)), endState)
            case "exit3": return .moves(.destroy(exit: .exited(3)), endState)
            case "sig9": return .moves(.destroy(exit: signalExit), endState)
            case "oom": return .moves(.destroy(exit: oom), .failed)
            case "lost": return .moves(.destroy(exit: nil), .lost)
            default: return .illegal
            }
        case "stopped": return terminalIgnoring(.stopped)
        case "failed": return terminalIgnoring(.failed)
        case "killed": return terminalIgnoring(.killed)
        case "timedOut": return terminalIgnoring(.timedOut)
        case "lost": return terminalIgnoring(.lost)
        default:
            Issue.record("no rules for \(start)")
            return .illegal
        }
    }

    static func machine(after events: [Event]) throws -> SandboxStateMachine {
        var machine = SandboxStateMachine()
        for event in events { _ = try machine.event(event) }
        return machine
    }

    @Test func startingPointsHaveTheirStates() throws {
        for start in Self.starts {
            #expect(try Self.machine(after: start.events).state == start.state, "\(start.name)")
        }
    }

    @Test(arguments: starts.map(\.name))
    func everyEventFrom(_ startName: String) throws {
        let start = try #require(Self.starts.first { $0.name == startName })
        for (eventName, event) in Self.events {
            var machine = try Self.machine(after: start.events)
            let before = machine
            let outcome: Outcome
            do {
                let action = try machine.event(event)
                outcome = .moves(action, machine.state)
            } catch {
                #expect(error.state == start.state)
                #expect(error.event == event)
                #expect(machine == before, "a rejected event must not change the machine")
                outcome = .illegal
            }
            #expect(outcome == Self.expected(startName, eventName), "\(startName) + \(eventName)")
        }
    }

    @Test func gracefulStopThenKillAfterGrace() throws {
        var machine = try Self.machine(after: [.created, .started])
        #expect(try machine.event(.stopRequested(grace: .seconds(2))) == .terminate(grace: .seconds(2)))
        #expect(try machine.event(.graceExpired) == .killAll)
        #expect(try machine.event(.graceExpired) == .none)
        let action = try machine.event(.mainExited(.signaled(9)))
        #expect(action == .destroy(exit: ProcessExit(reason: .killed, code: 137, signal: 9)))
        #expect(machine.state == .stopped)
        #expect(machine.exit?.reason == .killed)
    }

    @Test func processThatHandlesTermExitsWithItsOwnCode() throws {
        var machine = try Self.machine(after: [.created, .started, .stopRequested(grace: .seconds(1))])
        #expect(try machine.event(.mainExited(.exited(0))) == .destroy(exit: .exited(0)))
        #expect(machine.state == .stopped)
        #expect(machine.exit == .exited(0))
    }

    @Test func createFailureKeepsItsMessage() throws {
        var machine = SandboxStateMachine()
        #expect(try machine.event(.createFailed("runc refused the config")) == .destroy(exit: nil))
        #expect(machine.state == .failed)
        #expect(machine.failure == "runc refused the config")
    }

    @Test func killDuringCreateDestroysOnceCreated() throws {
        var machine = SandboxStateMachine()
        #expect(try machine.event(.stopRequested(grace: .seconds(1))) == .none)
        #expect(try machine.event(.killRequested) == .none)
        #expect(try machine.event(.stopRequested(grace: .seconds(1))) == .none)
        #expect(try machine.event(.created) == .destroy(exit: nil))
        #expect(machine.state == .killed, "a kill is not weakened by a later stop")
        #expect(try machine.event(.started) == .none, "a start that raced the destroy is harmless")
    }

    @Test func stopKindsRankKillOverTimeoutOverIdleOverGraceful() {
        #expect(SandboxStateMachine.stronger(nil, .graceful) == .graceful)
        #expect(SandboxStateMachine.stronger(.graceful, .timeout) == .timeout)
        #expect(SandboxStateMachine.stronger(.timeout, .graceful) == .timeout)
        #expect(SandboxStateMachine.stronger(.idleTimeout, .timeout) == .timeout)
        #expect(SandboxStateMachine.stronger(.kill, .timeout) == .kill)
        #expect(SandboxStateMachine.stronger(.graceful, .idleTimeout) == .idleTimeout)
    }

    /// Random event sequences: a terminal state never changes, `destroy` is answered exactly once per
    /// life that ends, and `start` at most once.
    @Test func randomWalksKeepTheInvariants() {
        var generator = SeededGenerator(seed: 0x5EED_0006)
        for _ in 0..<2000 {
            var machine = SandboxStateMachine()
            var destroys = 0
            var starts = 0
            var terminal: SandboxState?
            for _ in 0..<Int.random(in: 1...24, using: &generator) {
                let event = Self.events.randomElement(using: &generator)!.event
                guard let action = try? machine.event(event) else { continue }
                if case .destroy = action { destroys += 1 }
                if action == .start { starts += 1 }
                if let terminal { #expect(machine.state == terminal) }
                if machine.state.isTerminal { terminal = terminal ?? machine.state }
            }
            #expect(destroys == (machine.state.isTerminal ? 1 : 0))
            #expect(starts <= 1)
        }
    }
}

/// A deterministic generator (SplitMix64) so random tests replay.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
