/// The lifecycle of one sandbox as a value: feed it what happened, do what it answers.
///
/// It performs no I/O. A backend calls `event(_:)` under its own lock, then carries out the returned
/// action outside it. Events that arrive late (a grace timer that fires after the process exited, a
/// second kill, the main process's exit after a destroy killed it) are harmless and answer `.none`; events
/// that contradict the lifecycle (a start before the container was created, a second `created`, an
/// exit before any process exists) throw `IllegalTransition`.
public struct SandboxStateMachine: Hashable, Sendable {
    /// Why a sandbox is being stopped; decides its terminal state and exit reason.
    public enum StopKind: Hashable, Sendable {
        case graceful
        case kill
        case timeout
        case idleTimeout
    }

    public enum Event: Hashable, Sendable {
        /// The runtime created the container; the main process waits to be started.
        case created
        /// Creating the container failed, with a curated message.
        case createFailed(String)
        /// The main process started.
        case started
        /// Stop gracefully: SIGTERM, then SIGKILL after `grace`.
        case stopRequested(grace: Duration)
        /// Kill every process now and destroy the sandbox.
        case killRequested
        /// The wall-clock timeout fired.
        case timeoutFired
        /// The idle timeout fired.
        case idleTimeoutFired
        /// The grace period of a graceful stop ran out.
        case graceExpired
        /// The main process (the container's init) ended.
        case mainExited(ProcessExit)
        /// The runtime's state for the sandbox vanished, with a curated message.
        case lost(String)
    }

    public enum Action: Hashable, Sendable {
        case none
        /// Start the main process of the created container.
        case start
        /// Start the wall-clock and idle timers.
        case armTimers
        /// Send SIGTERM to the main process and fire `graceExpired` after `grace`.
        case terminate(grace: Duration)
        /// SIGKILL every process of the sandbox; `mainExited` follows.
        case killAll
        /// Remove the container and everything created for it. The sandbox is terminal now; `exit`
        /// is the main process's exit when there was one.
        case destroy(exit: ProcessExit?)
    }

    public struct IllegalTransition: Error, Hashable, Sendable, CustomStringConvertible {
        public var state: SandboxState
        public var event: Event

        public var description: String { "illegal sandbox event \(event) in state \(state.rawValue)" }
    }

    enum Phase: Hashable, Sendable {
        /// The runtime is creating the container; a stop asked for meanwhile waits for it.
        case creating(pendingStop: StopKind?)
        /// The container exists; its main process has not been started.
        case created
        case running
        case stopping(StopKind, killSent: Bool)
        case terminal(SandboxState)
    }

    private(set) var phase: Phase = .creating(pendingStop: nil)
    /// The main process's exit as recorded (reason rewritten for stops the backend caused).
    public private(set) var exit: ProcessExit?
    /// The curated reason of a failure or loss.
    public private(set) var failure: String?

    public init() {}

    public var state: SandboxState {
        switch phase {
        case .creating, .created: .creating
        case .running: .running
        case .stopping: .stopping
        case .terminal(let state): state
        }
    }

    public mutating func event(_ event: Event) throws(IllegalTransition) -> Action {
        switch (phase, event) {
        // creating: the runtime cannot be interrupted, so stops wait for it
        case (.creating(let pending), .created):
            if let pending {
                phase = .terminal(Self.terminalState(for: pending))
                return .destroy(exit: nil)
            }
            phase = .created
            return .start
        case (.creating(let pending), .stopRequested):
            phase = .creating(pendingStop: Self.stronger(pending, .graceful))
            return .none
        case (.creating(let pending), .killRequested):
            phase = .creating(pendingStop: Self.stronger(pending, .kill))
            return .none
        case (.creating(let pending), .timeoutFired):
            phase = .creating(pendingStop: Self.stronger(pending, .timeout))
            return .none
        case (.creating, .idleTimeoutFired), (.creating, .graceExpired):
            return .none
        case (.creating, .createFailed(let message)), (.created, .createFailed(let message)):
            failure = message
            phase = .terminal(.failed)
            return .destroy(exit: nil)
        case (.creating, .lost(let message)), (.created, .lost(let message)), (.running, .lost(let message)),
            (.stopping, .lost(let message)):
            failure = message
            phase = .terminal(.lost)
            return .destroy(exit: exit)

        // created: nothing runs yet, so any stop destroys at once
        case (.created, .started):
            phase = .running
            return .armTimers
        case (.created, .stopRequested):
            phase = .terminal(.stopped)
            return .destroy(exit: nil)
        case (.created, .killRequested):
            phase = .terminal(.killed)
            return .destroy(exit: nil)
        case (.created, .timeoutFired):
            phase = .terminal(.timedOut)
            return .destroy(exit: nil)
        case (.created, .idleTimeoutFired), (.created, .graceExpired):
            return .none
        case (.created, .mainExited(let exit)):
            self.exit = exit
            failure = "the main process could not be started"
            phase = .terminal(.failed)
            return .destroy(exit: exit)

        // running
        case (.running, .stopRequested(let grace)):
            phase = .stopping(.graceful, killSent: false)
            return .terminate(grace: grace)
        case (.running, .killRequested):
            phase = .stopping(.kill, killSent: true)
            return .killAll
        case (.running, .timeoutFired):
            phase = .stopping(.timeout, killSent: true)
            return .killAll
        case (.running, .idleTimeoutFired):
            phase = .stopping(.idleTimeout, killSent: true)
            return .killAll
        case (.running, .graceExpired):
            return .none
        case (.running, .mainExited(let exit)):
            self.exit = exit
            phase = .terminal(exit == .exited(0) ? .stopped : .failed)
            return .destroy(exit: exit)

        // stopping
        case (.stopping(let kind, false), .graceExpired):
            phase = .stopping(kind, killSent: true)
            return .killAll
        case (.stopping(_, let killSent), .killRequested):
            phase = .stopping(.kill, killSent: true)
            return killSent ? .none : .killAll
        case (.stopping, .stopRequested), (.stopping, .timeoutFired), (.stopping, .idleTimeoutFired),
            (.stopping, .graceExpired):
            return .none
        case (.stopping(let kind, _), .mainExited(let exit)):
            let recorded = Self.recordedExit(exit, stoppedBy: kind)
            self.exit = recorded
            phase = .terminal(recorded.reason == .oomKilled ? .failed : Self.terminalState(for: kind))
            return .destroy(exit: recorded)

        // terminal: late timers, repeated stops and the echoes of a destroy are harmless
        case (.terminal, .created):
            throw IllegalTransition(state: state, event: event)
        case (.terminal, _):
            return .none

        default:
            throw IllegalTransition(state: state, event: event)
        }
    }

    /// Kill beats a timeout, which beats an idle timeout, which beats a graceful stop.
    package static func stronger(_ current: StopKind?, _ new: StopKind) -> StopKind {
        func rank(_ kind: StopKind) -> Int {
            switch kind {
            case .graceful: 0
            case .idleTimeout: 1
            case .timeout: 2
            case .kill: 3
            }
        }
        guard let current else { return new }
        return rank(new) > rank(current) ? new : current
    }

    static func terminalState(for kind: StopKind) -> SandboxState {
        switch kind {
        case .graceful, .idleTimeout: .stopped
        case .kill: .killed
        case .timeout: .timedOut
        }
    }

    /// A signal death during a stop the backend caused is reported as the stop's reason; a process
    /// that exited on its own (or was OOM-killed) keeps its own exit.
    static func recordedExit(_ exit: ProcessExit, stoppedBy kind: StopKind) -> ProcessExit {
        guard exit.reason == .signaled else { return exit }
        var recorded = exit
        switch kind {
        case .graceful, .kill: recorded.reason = .killed
        case .timeout: recorded.reason = .timeout
        case .idleTimeout: recorded.reason = .idleTimeout
        }
        return recorded
    }
}
