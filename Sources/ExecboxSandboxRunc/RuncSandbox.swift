import ExecboxSandbox
import Glibc
import Synchronization

/// What the runc backend keeps for one sandbox. Its state machine is driven only by its supervisor
/// (and by `create` before the supervisor starts); everyone else reads snapshots and waits for states.
final class RuncSandbox: Sendable {
    enum Input: Sendable {
        case event(SandboxStateMachine.Event)
        /// The backend is shutting down: kill and destroy.
        case shutdown
        /// The backend is shutting down and leaves the sandbox to its monitor (adopted after restart).
        case detach
        /// Arm the timers of a sandbox that was running before its supervisor started (adopted).
        case armTimers
    }

    let id: SandboxID
    /// The runtime's name of the container: the id, or the name of the pooled container the
    /// sandbox was given (`RuncBackend+Pool`), which also names its bundle and cgroups.
    let container: String
    /// The container was started before the sandbox was created (a pooled one, the only kind named
    /// otherwise than its sandbox): the machine's `start` only launches the main process.
    var prestarted: Bool { container != id.rawValue }
    let spec: SandboxSpec
    let limits: SandboxLimits
    let bundle: String
    /// Where the execs' output spools live; it outlives the bundle until the sandbox is removed.
    let spoolDirectory: String
    let slot: Int
    let baseProcess: OCIConfig.Process
    let cgroup: CgroupV1
    /// The runtime as this sandbox's commands use it (runsc: with the sandbox's network flag).
    let runtime: RuncRuntime
    /// Where a runc sandbox's exec agent has its socket, if it was started with one (the directory
    /// exists only then; a sandbox a server without the agent made falls back to `runc exec`).
    var agentDirectory: String? { runtime.kind == .runc ? "\(bundle)/agent" : nil }
    /// Its monitor's descriptor keeper (connected at the first use; a sandbox without a monitor has none).
    let keeper: ExecKeeper
    let inbox = Inbox<Input>()
    /// How many ended execs are remembered (with their spools) before the oldest is forgotten.
    let retainedExecs: Int
    /// Adopted from a previous server run: already started, its timeout partly spent.
    let adoption: Adoption?
    /// Readable once the supervisor should stop watching the init without killing it (`detach`).
    let detachSignal: DetachSignal

    struct Adoption: Sendable {
        /// How much of its wall-clock timeout the sandbox had used when it was adopted.
        var elapsed: Duration
        /// Processes found in its cgroup at adoption (execs of the dead server, orphaned): reaped
        /// while the sandbox dies if they became this process's children.
        var strays: [ProcessHandle]
        /// The main exec the dead server started (its output and exit status went with that server):
        /// while it runs it is watched and signalled, and its end ends the sandbox.
        var main: ProcessHandle? = nil
        /// The sandbox ran its command as a main exec that had ended (or was never recorded): it is
        /// ended at once.
        var mainLost = false
        /// runsc: the main process's pid inside the sandbox (signals go through `runsc kill --pid`).
        var mainInternalPid: Int32? = nil
        /// The dead server's exec records, oldest first, and what its monitor's keeper held for
        /// them (taken over by `RuncBackend.recoverExecs`).
        var execRecords: [ExecRecord] = []
        var kept: [String: [Int32]] = [:]
    }

    private struct State {
        var machine = SandboxStateMachine()
        var initProcess: MainProcess?
        var networkAttachment: SandboxNetwork.Attachment?
        var waiters: [UInt64: (predicate: @Sendable (SandboxInfo) -> Bool, continuation: Continuation)] = [:]
        var nextWaiter: UInt64 = 0
        /// The command, run as an exec the backend owns (nil without a command, before the start, and
        /// after adoption).
        var mainExec: RuncExec?
        /// Every exec still remembered, running or ended, in start order.
        var execs: [RuncExec] = []
        /// Running execs and launches in progress (bounded by `maxRunningExecs`).
        var runningExecs = 0
        /// Running execs and attached clients; the sandbox is idle only while this is zero.
        var busy = 0
        var lastActivity = ContinuousClock.now
        var destroyed = false
        /// The cgroup's counters taken just before the destroy removed it.
        var finalStats: SandboxStats?
    }

    private typealias Continuation = CheckedContinuation<SandboxInfo?, Never>
    private let state = Mutex(State())

    init(
        id: SandboxID, spec: SandboxSpec, limits: SandboxLimits, bundle: String, spoolDirectory: String,
        slot: Int, baseProcess: OCIConfig.Process, retainedExecs: Int, cgroupParent: String,
        runtime: RuncRuntime, adoption: Adoption? = nil, container: String? = nil, cpuBaseline: UInt64 = 0,
        keeper: ExecKeeper? = nil
    ) {
        self.container = container ?? id.rawValue
        self.keeper = keeper ?? ExecKeeper(bundle: bundle)
        self.runtime = runtime
        self.adoption = adoption
        self.detachSignal = DetachSignal()
        self.id = id
        self.spec = spec
        self.limits = limits
        self.bundle = bundle
        self.spoolDirectory = spoolDirectory
        self.retainedExecs = retainedExecs
        self.slot = slot
        self.baseProcess = baseProcess
        var cgroup = CgroupV1(container: self.container, parent: cgroupParent)
        cgroup.cpuBaseline = cpuBaseline
        self.cgroup = cgroup
    }

    var info: SandboxInfo {
        state.withLock { Self.info(of: $0, id: id, spec: spec, limits: limits) }
    }

    private static func info(of state: State, id: SandboxID, spec: SandboxSpec, limits: SandboxLimits) -> SandboxInfo {
        SandboxInfo(
            id: id,
            state: state.machine.state,
            spec: spec,
            limits: limits,
            exit: state.machine.exit,
            failure: state.machine.failure
        )
    }

    var initProcess: MainProcess? {
        get { state.withLock { $0.initProcess } }
        set { state.withLock { $0.initProcess = newValue } }
    }

    /// The veth and exposed ports of an `outgoing` or `exposed` sandbox.
    var networkAttachment: SandboxNetwork.Attachment? {
        get { state.withLock { $0.networkAttachment } }
        set { state.withLock { $0.networkAttachment = newValue } }
    }

    /// Takes a running-exec slot before a launch, or throws when the sandbox runs `limit` already.
    func reserveExec(limit: Int) throws(SandboxError) {
        try state.withLock { state throws(SandboxError) in
            guard state.runningExecs < limit else {
                throw SandboxError(code: .resourceExhausted, message: "sandbox \(id) runs \(limit) execs already")
            }
            state.runningExecs += 1
            state.busy += 1
            state.lastActivity = .now
        }
    }

    /// Gives back the slot of a launch that failed.
    func releaseExec() {
        state.withLock { state in
            state.runningExecs -= 1
            state.busy -= 1
            state.lastActivity = .now
        }
    }

    /// A client attached (or detached): the sandbox is busy while any is.
    func activity(started: Bool) {
        state.withLock { state in
            state.busy += started ? 1 : -1
            state.lastActivity = .now
        }
    }

    /// A call that uses the sandbox without keeping it busy (a file read or write).
    func touch() {
        state.withLock { $0.lastActivity = .now }
    }

    /// Whether anything runs or is attached, and when activity last began or ended.
    var activity: (busy: Bool, last: ContinuousClock.Instant) {
        state.withLock { ($0.busy > 0, $0.lastActivity) }
    }

    func register(_ exec: RuncExec) {
        state.withLock { $0.execs.append(exec) }
    }

    /// An exec's pump finished: its slot is free, and the oldest ended execs beyond
    /// `retainedExecs` are forgotten along with their spools.
    func ended(_ exec: RuncExec) {
        let forgotten = state.withLock { state -> [RuncExec] in
            state.runningExecs -= 1
            state.busy -= 1
            state.lastActivity = .now
            var ended = state.execs.filter(\.hasEnded)
            guard ended.count > retainedExecs else { return [] }
            ended.removeLast(retainedExecs)
            let dropped = Set(ended.map(\.id))
            state.execs.removeAll { dropped.contains($0.id) }
            return ended
        }
        for exec in forgotten { exec.removeSpool() }
    }

    /// An exec by id, the main exec included.
    func exec(_ id: ExecID) -> RuncExec? {
        state.withLock { state in
            if let main = state.mainExec, main.id == id { return main }
            return state.execs.first { $0.id == id }
        }
    }

    var mainExec: RuncExec? {
        get { state.withLock { $0.mainExec } }
        set { state.withLock { $0.mainExec = newValue } }
    }

    var execs: [RuncExec] { state.withLock { $0.execs } }

    /// Exec processes started through `runc exec` are this process's children: while the sandbox
    /// dies they must be reaped, or its init waits for them forever (a pid namespace's init exits
    /// only once every process in it is gone), even when no pump reads their output. (The exec
    /// agent reaps its own; polling their exit connections here is harmless.)
    func reapExecZombies() {
        let (execs, main) = state.withLock { ($0.execs, $0.mainExec) }
        // A reaped child answers from its kept status; a main exec cancelled with the backend has an
        // exit recorded but may still need reaping.
        for exec in execs + (main.map { [$0] } ?? []) { _ = exec.child?.poll() }
        for stray in (adoption?.strays ?? []) + (adoption?.main.map { [$0] } ?? []) where stray.hasExited {
            stray.reapIfChild()
        }
    }

    /// Forgets every exec's spool (the sandbox is removed).
    func removeSpools() {
        for exec in execs { exec.removeSpool() }
        mainExec?.removeSpool()
        BundleWriter.remove(spoolDirectory)
    }

    /// Feeds the machine; wakes waiters whose condition now holds.
    func apply(_ event: SandboxStateMachine.Event) throws(SandboxStateMachine.IllegalTransition)
        -> SandboxStateMachine.Action
    {
        let (action, wake) = try state.withLock {
            state throws(SandboxStateMachine.IllegalTransition) -> (
                SandboxStateMachine.Action, [(Continuation, SandboxInfo)]
            ) in
            let action = try state.machine.event(event)
            return (action, Self.takeSatisfied(&state, id: id, spec: spec, limits: limits))
        }
        for (continuation, info) in wake { continuation.resume(returning: info) }
        return action
    }

    /// Marks the destroy finished (terminal info is final) and wakes everyone waiting for it.
    func markDestroyed() {
        keeper.disconnect()
        let wake = state.withLock { state in
            state.destroyed = true
            return Self.takeSatisfied(&state, id: id, spec: spec, limits: limits)
        }
        for (continuation, info) in wake { continuation.resume(returning: info) }
    }

    var isDestroyed: Bool { state.withLock { $0.destroyed } }

    /// The cgroup's counters: live while the sandbox exists, then as they were when it was destroyed.
    var stats: SandboxStats {
        if let final = state.withLock({ $0.finalStats }) { return final }
        return cgroup.stats
    }

    /// Keeps the counters of a sandbox whose processes are all dead, before its cgroup goes.
    func recordFinalStats() {
        let stats = cgroup.stats
        state.withLock { $0.finalStats = stats }
    }

    private static func takeSatisfied(_ state: inout State, id: SandboxID, spec: SandboxSpec, limits: SandboxLimits)
        -> [(Continuation, SandboxInfo)]
    {
        let info = info(of: state, id: id, spec: spec, limits: limits)
        guard !info.state.isTerminal || state.destroyed else { return [] }
        let satisfied = state.waiters.filter { $0.value.predicate(info) }
        for key in satisfied.keys { state.waiters[key] = nil }
        return satisfied.values.map { ($0.continuation, info) }
    }

    /// Waits until `predicate` holds; a terminal state counts only once its destroy finished, so the
    /// caller never sees a terminal sandbox whose processes or files still exist.
    func wait(until predicate: @escaping @Sendable (SandboxInfo) -> Bool) async -> SandboxInfo {
        // Not cancellable: the result is never nil.
        await wait(until: predicate, cancellable: false)!
    }

    /// `wait(until:)` that cancellation ends with nil.
    func waitUnlessCancelled(until predicate: @escaping @Sendable (SandboxInfo) -> Bool) async -> SandboxInfo? {
        await wait(until: predicate, cancellable: true)
    }

    private func wait(until predicate: @escaping @Sendable (SandboxInfo) -> Bool, cancellable: Bool) async
        -> SandboxInfo?
    {
        let key = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Continuation) in
                let ready = state.withLock { state -> SandboxInfo?? in
                    let info = Self.info(of: state, id: id, spec: spec, limits: limits)
                    if (!info.state.isTerminal || state.destroyed) && predicate(info) { return .some(info) }
                    if cancellable, Task.isCancelled { return .some(nil) }
                    state.waiters[key] = (predicate, continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            guard cancellable else { return }
            state.withLock { $0.waiters.removeValue(forKey: key) }?.continuation.resume(returning: nil)
        }
    }
}

/// A pipe whose read end becomes readable once `fire()` is called: wakes a wait on the poller.
final class DetachSignal: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32

    init() {
        do {
            (readEnd, writeEnd) = try LinuxCalls.makePipe(O_CLOEXEC | O_NONBLOCK)
            try FileDescriptorPoller.shared.register(readEnd, for: .read)
        } catch {
            preconditionFailure("cannot make a detach signal: \(error)")
        }
    }

    deinit {
        FileDescriptorPoller.shared.deregister(readEnd)
        close(readEnd)
        close(writeEnd)
    }

    func fire() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }
}
