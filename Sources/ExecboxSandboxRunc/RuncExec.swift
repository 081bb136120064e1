import ExecboxSandbox
import Glibc
import Synchronization

/// One exec: a process started with `runc exec --detach` and adopted as this process's child, its
/// output spool, and the clients attached to it.
///
/// `pump()` (run by whoever owns the exec's lifetime: the `exec` call, or the backend for a
/// background exec) reads the process's pipes (or pty master) into the spool, alternating between
/// stdout and stderr, and records the exit once both reached end of file — or `drainGrace` after
/// the process itself ended, since a background child may hold the pipes forever. Attached clients
/// (`RuncExecAttachment`) read from the spool at their own offsets. While any client is attached,
/// the pump reads only while the slowest of them is less than `window` bytes behind, so a client
/// that stops reading makes the process block on its pipe; with nobody attached it reads freely and
/// the spool drops its oldest output beyond its limit.
final class RuncExec: Sendable {
    enum Ending: Sendable {
        case none
        case timedOut
        case killed
    }

    private struct State: ~Copyable {
        var spool: ExecSpool
        var exit: ProcessExit?
        /// From the launch to the exit, once it ended.
        var runTime: Duration?
        var ending = Ending.none
        var stdin: Int32?
        /// No more writes are accepted.
        var stdinClosed = false
        /// A writer is using the descriptor; it closes it when done if `stdinCloseRequested`.
        var stdinBusy = false
        /// Writers waiting for the one using stdin (several attached clients write in turn).
        var stdinWaiters: [CheckedContinuation<Void, Never>] = []
        var stdinCloseRequested = false
        var attachments: [Int: UInt64] = [:]
        var nextAttachment = 0
        /// Readers parked until output or the exit arrives.
        var readers: [Int: CheckedContinuation<Void, any Error>] = [:]
        /// The pump, parked while the slowest reader is a window behind.
        var pump: CheckedContinuation<Void, any Error>?
        var pumpCancelled = false
        var endWaiters: [CheckedContinuation<Void, Never>] = []
        /// `Hooks.processEnded` was called.
        var endNoted = false
        /// runsc: the signals the backend sent (an exit of 128+n is signal n only if n was sent).
        var sentSignals: Set<Int32> = []
        /// The sandbox monitor's keeper holds this exec's descriptors (and stdin's write end).
        var kept = false
        var keptStdin = false
        /// The record holds the exit (no more keeper messages for this exec).
        var recordedEnd = false
        /// The record the keeper holds with the descriptors.
        var keptRecord: [UInt8] = []
        /// The pump was cancelled and the process left running for a next server: not ended here, and
        /// its spool and record are the next server's.
        var leftRunning = false
    }

    /// A process inside a runsc sandbox. `child` is runsc's host process that waits for it (its exit
    /// status is the process's, a signal death folded into 128+n, and 128 when runsc itself failed);
    /// signals go through `runsc kill --pid`, since runsc forwards none to a piped process.
    struct Runsc: Sendable {
        /// Its pid in the sandbox (`--internal-pid-file`).
        var internalPid: Int32
        /// Sends a signal inside the sandbox (asynchronously: a `runsc kill` run by the backend).
        var signal: @Sendable (Int32) -> Void
        /// Whether the sandbox's kernel is gone (its waiter then fails with 128).
        var sandboxGone: @Sendable () -> Bool
    }

    /// What a sandbox's main exec adds to an exec: its end ends the sandbox, whose exit is the one
    /// its clients get.
    struct Hooks: Sendable {
        /// Called once, as soon as the process's exit is known (before its output is drained).
        var processEnded: (@Sendable (ProcessExit) -> Void)?
        /// The exit recorded once the output is drained, given the process's own; nil on cancellation.
        var recordedExit: (@Sendable (ProcessExit) async -> ProcessExit?)?
        /// Whether cancelling the pump kills the process (the main exec lives as long as its sandbox).
        var killOnCancel = true
    }

    let id: ExecID
    let sandboxID: SandboxID
    let spec: ExecSpec
    let pid: Int32?
    let child: ChildProcess?
    /// The exit of a process that never started (runc exec failed).
    private let startFailure: ProcessExit?
    private let output: [(fd: Int32, isStdout: Bool)]
    /// A TTY exec: its output (the pty master) arrives as stdout, `stdin` is a duplicate of the
    /// master and the descriptor resizes go to.
    let terminal: Bool
    private let cgroup: CgroupV1
    private let oomKillsAtStart: Int
    private let drainGrace: Duration
    private let window: Int
    private let chunkSize: Int
    private let hooks: Hooks
    /// Whether a cancelled pump kills the process (else it is left, unrecorded, to a next server).
    private let killsOnCancel: Bool
    private let runsc: Runsc?
    private let state: Mutex<State>
    /// When the process was launched: the wall clock for callers, the monotonic one for its run time.
    let startedAt: Double
    private let launchedAt: ContinuousClock.Instant
    /// The sandbox monitor's descriptor keeper and what a next server reads of this exec (nil
    /// without a keeper: the exec then ends with this server).
    private let keeper: ExecKeeper?
    private let record: ExecRecord?
    private let spoolPath: String
    /// How output leaves the pipes when a next server may take the exec over (nil: plain reads).
    private let staging: StagedOutput?

    struct Settings: Sendable {
        var spoolPath: String
        var spoolLimit: Int
        var window: Int
        var drainGrace: Duration
        var runsc: Runsc? = nil
        var keeper: ExecKeeper? = nil
        /// The sandbox's main process.
        var main = false
        /// A cancelled pump (the backend shutting down and leaving its sandboxes to a next server)
        /// leaves a background exec running, for the next server to take over from the keeper.
        var leaveOnCancel = false
        /// A taken-over exec: the dead server's staging pipes (stdout's two, stderr's two), emptied
        /// into the spool here and closed by the caller.
        var recoveredStages: [Int32] = []
    }

    init(
        id: ExecID,
        sandboxID: SandboxID,
        spec: ExecSpec,
        child: ChildProcess?,
        startFailure: ProcessExit?,
        launch: RuncBackend.Launch,
        cgroup: CgroupV1,
        oomKillsAtStart: Int,
        settings: Settings,
        hooks: Hooks = Hooks(),
        recovered: ExecRecord? = nil
    ) throws(SystemError) {
        self.id = id
        self.hooks = hooks
        self.killsOnCancel = hooks.killOnCancel && !settings.leaveOnCancel
        self.sandboxID = sandboxID
        self.spec = spec
        let now = SandboxRecord.now
        self.startedAt = recovered?.startedAt ?? now
        self.launchedAt = .now - .milliseconds(Int64(max(0, now - startedAt) * 1000))
        self.spoolPath = settings.spoolPath
        self.keeper = settings.keeper
        // Only processes the exec agent started can be taken over (a `runc exec` or runsc process's
        // exit status goes to this server alone): only they have a record.
        self.record =
            settings.keeper == nil || (recovered == nil && child?.agentDescriptors == nil)
            ? nil
            : recovered
                ?? ExecRecord(
                    id: id.rawValue, argv: spec.argv, tty: spec.tty, main: settings.main,
                    pid: child?.namespacePid, startedAt: now,
                    timeoutSeconds: spec.timeout.map {
                        Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
                    },
                    oomKillsAtStart: oomKillsAtStart
                )
        self.child = child
        self.startFailure = startFailure
        self.output = launch.output
        self.terminal = launch.terminal
        self.cgroup = cgroup
        self.oomKillsAtStart = oomKillsAtStart
        self.drainGrace = settings.drainGrace
        self.window = settings.window
        self.runsc = settings.runsc
        self.pid = settings.runsc?.internalPid ?? child.flatMap { $0.namespacePid ?? Self.namespacePid(of: $0.pid) }
        // The pump reads at most `chunkSize` past the window, so a reader that is attached never
        // falls out of the memory tail.
        self.chunkSize = max(4096, min(settings.window / 4, 256 << 10))
        let limit = max(settings.spoolLimit, 2 * settings.window)
        let tailLimit = settings.window + 2 * chunkSize
        var state: State
        if recovered != nil {
            // A previous server's exec: its spool continues (nil when it is not a whole spool).
            guard let spool = ExecSpool(recovering: settings.spoolPath, limit: limit, tailLimit: tailLimit) else {
                throw SystemError("the spool \(settings.spoolPath) cannot be taken over", errno: EINVAL)
            }
            state = State(spool: spool, stdin: launch.stdin >= 0 ? launch.stdin : nil)
            state.exit = recovered?.processExit
            state.runTime = recovered?.runTimeSeconds.map { .milliseconds(Int64($0 * 1000)) }
        } else {
            state = State(
                spool: ExecSpool(path: settings.spoolPath, limit: limit, tailLimit: tailLimit),
                stdin: launch.stdin >= 0 ? launch.stdin : nil)
        }
        state.stdinClosed = state.stdin == nil
        // Output is staged when a next server may take the exec over (see StagedOutput).
        let staging =
            record != nil && !launch.terminal && !launch.output.isEmpty && recovered?.exit == nil
            ? try? StagedOutput(chunkSize: min(state.spool.maxRecord, chunkSize)) : nil
        self.staging = staging
        // A dead server's stages: the chunk it had not spooled yet goes in first.
        if settings.recoveredStages.count == 4, let staging {
            staging.takeOver(settings.recoveredStages, into: &state.spool)
        }
        // A recovered running exec's descriptors are the keeper's already (with stdin if it came back).
        state.kept = recovered != nil && recovered?.exit == nil
        state.keptStdin = state.kept && !launch.terminal && launch.stdin >= 0
        state.recordedEnd = recovered?.exit != nil
        self.state = Mutex(state)
        let poller = FileDescriptorPoller.shared
        for (fd, _) in launch.output { try poller.register(fd, for: .read) }
        if launch.stdin >= 0 { try poller.register(launch.stdin, for: .write) }
    }

    /// Leaves duplicates of the running process's output descriptors, stdin, agent connection, pidfd
    /// and staging pipes with the sandbox monitor's keeper, with its record, so a next server can
    /// take the exec over if this one dies. Only for processes the exec agent started (a `runc exec`
    /// process's exit status goes to this server alone). Keeper messages for one exec are sent under
    /// its lock, so they reach the keeper in order (a `keep` never follows the `end`).
    func keepForNextServer() {
        guard let keeper, var record, let agent = child?.agentDescriptors else { return }
        record.pid = pid
        record.staged = staging != nil
        let encoded = record.encoded
        guard !encoded.isEmpty else { return }
        state.withLock { state in
            guard state.exit == nil, !state.recordedEnd else { return }
            let stdin = terminal || state.stdinClosed ? nil : state.stdin
            state.keptRecord = encoded
            state.kept = send(to: keeper, stdin: stdin, agent: agent, record: encoded)
            state.keptStdin = state.kept && stdin != nil
        }
    }

    /// Hands the keeper this exec's descriptors with `record`, replacing what it held for the exec;
    /// false if it did not take them (it then holds what it held before). Pipes: [stdout, stderr,
    /// stdin (if given), connection, pidfd] + stages; a terminal: [master, connection, pidfd].
    private func send(to keeper: ExecKeeper, stdin: Int32?, agent: [Int32], record: [UInt8]) -> Bool {
        let stdin = stdin.map { [$0] } ?? []
        return keeper.keep(id.rawValue, output.map(\.fd) + stdin + agent + stagedDescriptors, record: record)
    }

    /// stdin is closed here: the keeper lets its duplicate go too, or the process would never read
    /// end of file (the other descriptors stay kept). Under the state lock.
    private func releaseKeptStdin(_ state: inout State) {
        guard state.keptStdin, !state.recordedEnd, let keeper, let agent = child?.agentDescriptors else { return }
        state.keptStdin = false
        _ = send(to: keeper, stdin: nil, agent: agent, record: state.keptRecord)
    }

    private var stagedDescriptors: [Int32] { staging?.keptDescriptors ?? [] }

    /// A taken-over exec: the keeper gets this server's staging pipes in place of the dead one's
    /// (which are empty by now), and the record says whether there are any.
    func keepAgainAfterTakeover() {
        guard let keeper, var record, let agent = child?.agentDescriptors else { return }
        record.staged = staging != nil
        let encoded = record.encoded
        state.withLock { state in
            guard state.kept, !state.recordedEnd, !encoded.isEmpty else { return }
            state.keptRecord = encoded
            state.kept = send(to: keeper, stdin: state.keptStdin ? state.stdin : nil, agent: agent, record: encoded)
        }
    }

    deinit {
        staging?.close()
    }

    /// The exit is recorded: the keeper closes the descriptors and keeps the record with the exit.
    /// The agent's exit line was only peeked at, so a server killed before this leaves it to the next.
    private func recordEnd(_ exit: ProcessExit, runTime: Duration) {
        guard let keeper, var record else { return }
        record.setExit(exit, runTime: runTime)
        let encoded = record.encoded
        state.withLock { state in
            guard !state.recordedEnd else { return }
            state.recordedEnd = true
            if state.kept || !encoded.isEmpty { keeper.end(id.rawValue, record: encoded) }
            state.kept = false
        }
    }

    /// The innermost pid from `/proc/<pid>/status` (`NSpid:` lists one per pid namespace).
    static func namespacePid(of hostPid: pid_t) -> Int32? {
        guard let bytes = HostFiles.read("/proc/\(hostPid)/status", limit: 1 << 16) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.flatMap { Int32($0) }
    }

    var info: ExecInfo {
        state.withLock { state in
            ExecInfo(
                id: id,
                sandboxID: sandboxID,
                argv: spec.argv,
                tty: spec.tty,
                pid: pid,
                exit: state.exit,
                outputBytes: state.spool.end,
                retainedFrom: state.spool.retainedFrom,
                attachedClients: state.attachments.count,
                stdoutBytes: state.spool.stdoutEnd,
                stderrBytes: state.spool.stderrEnd,
                retainedStdoutFrom: state.spool.retainedStdoutFrom,
                startedAt: startedAt,
                runTime: state.runTime
            )
        }
    }

    var hasEnded: Bool { state.withLock { $0.exit != nil } }

    // MARK: The pump

    /// Reads the output into the spool until both streams end, then records the exit. Arms the
    /// exec's own timeout. Cancellation kills the process (its exit then reports `killed`).
    func pump() async {
        await withTaskGroup(of: Void.self) { group in
            if let timeout = spec.timeout {
                group.addTask {
                    guard (try? await Task.sleep(for: timeout)) != nil else { return }
                    self.kill(for: .timedOut)
                }
            }
            await pumpOutput()
            group.cancelAll()
        }
    }

    private func pumpOutput() async {
        var open = output
        var nextFirst = 0
        let chunkSize = min(state.withLock { $0.spool.maxRecord }, self.chunkSize)
        do {
            reading: while !open.isEmpty {
                try await waitForWindow()
                let first = nextFirst % open.count
                let order = Array(open[first...] + open[..<first])
                nextFirst += 1
                for (fd, isStdout) in order {
                    if let staging {
                        let stream = isStdout ? 0 : 1
                        let index = state.withLock { isStdout ? $0.spool.stagedStdout : $0.spool.stagedStderr }
                        switch staging.take(from: fd, stream: stream, index: index, limit: chunkSize) {
                        case .chunk(let chunk):
                            append(chunk, isStdout: isStdout, staged: true)
                            staging.drop(stream: stream, index: index)
                            continue reading
                        case .notReady:
                            continue
                        case .end, .failed:
                            Self.closeOutput(fd)
                            open.removeAll { $0.fd == fd }
                            continue
                        }
                    }
                    // Read straight into the chunk's own storage: the spool and every reader share it.
                    var count = 0
                    let chunk = [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, initialized in
                        count = read(fd, buffer.baseAddress, chunkSize)
                        initialized = max(count, 0)
                    }
                    if count > 0 {
                        append(chunk, isStdout: isStdout)
                        continue reading
                    }
                    // A pty master answers EIO once every slave descriptor is closed: its end of file.
                    if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        Self.closeOutput(fd)
                        open.removeAll { $0.fd == fd }
                    }
                }
                if open.isEmpty { break }
                let fds = open.map(\.fd)
                guard let child, child.poll() == nil else {
                    if let status = child?.poll() { noteEnded(await exit(for: status)) }
                    // The process is gone; whoever still holds the pipes gets `drainGrace` to write.
                    if try await waitWithGrace(fds) == nil {
                        for fd in fds { Self.closeOutput(fd) }
                        open = []
                    }
                    continue
                }
                _ = try await FileDescriptorPoller.shared.wait(fds + [child.waitDescriptor])
            }
        } catch {
            // Cancelled: the exec's owner is gone (the `exec` call, or the backend shutting down).
            if killsOnCancel { kill(for: .killed) }
            for (fd, _) in open { Self.closeOutput(fd) }
        }
        let lost = ProcessExit(reason: .lost, code: 255)
        var exit = lost
        // A main exec cancelled with its backend is not waited for: its sandbox's kill (or the next
        // server) decides its end.
        let cancelled = Task.isCancelled
        if killsOnCancel || !cancelled {
            exit = await processExit()
            noteEnded(exit)
        }
        if let recordedExit = hooks.recordedExit { exit = await recordedExit(exit) ?? lost }
        let runTime = ContinuousClock.now - launchedAt
        // A process left running (the main one, or any with `leaveOnCancel`) is the next server's:
        // no exit here, and its record and spool stay as they are.
        let leftRunning = cancelled && !killsOnCancel
        let wake = state.withLock { state in
            if leftRunning {
                state.leftRunning = true
            } else {
                state.exit = exit
                state.runTime = runTime
            }
            return Self.takeReaders(&state)
        }
        for reader in wake { reader.resume() }
        // After the clients have the exit: the record is for a next server.
        if !leftRunning { recordEnd(exit, runTime: runTime) }
        closeStdinDescriptor(releasingKept: !leftRunning)
        let waiters = state.withLock { state in
            defer { state.endWaiters = [] }
            return state.endWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func append(_ bytes: [UInt8], isStdout: Bool, staged: Bool = false) {
        let wake = state.withLock { state in
            state.spool.append(bytes, isStdout: isStdout, staged: staged)
            return Self.takeReaders(&state)
        }
        for reader in wake { reader.resume() }
    }

    private static func takeReaders(_ state: inout State) -> [CheckedContinuation<Void, any Error>] {
        defer { state.readers = [:] }
        return Array(state.readers.values)
    }

    /// Parks the pump while the slowest attached reader is `window` bytes or more behind.
    private func waitForWindow() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let proceed = state.withLock { state -> Bool in
                    if state.pumpCancelled { return true }
                    guard let slowest = state.attachments.values.min(), state.spool.end - slowest >= window else {
                        return true
                    }
                    state.pump = continuation
                    return false
                }
                if proceed { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let pump = state.withLock { state in
                state.pumpCancelled = true
                defer { state.pump = nil }
                return state.pump
            }
            pump?.resume(throwing: CancellationError())
        }
    }

    private func wakePumpIfBelowWindow(_ state: inout State) -> CheckedContinuation<Void, any Error>? {
        guard let pump = state.pump else { return nil }
        if let slowest = state.attachments.values.min(), state.spool.end - slowest >= window { return nil }
        state.pump = nil
        return pump
    }

    private func waitWithGrace(_ fds: [Int32]) async throws -> Int32? {
        let grace = drainGrace
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { try await FileDescriptorPoller.shared.wait(fds) }
            group.addTask {
                try await Task.sleep(for: grace)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    private static func closeOutput(_ fd: Int32) {
        FileDescriptorPoller.shared.deregister(fd)
        close(fd)
    }

    private func processExit() async -> ProcessExit {
        if let startFailure { return startFailure }
        guard let child, let status = try? await child.waitIgnoringCancellation() else {
            return ProcessExit(reason: .lost, code: 255)
        }
        return await exit(for: status)
    }

    /// runsc's waiter status as the process's own: 128+n is signal n when the backend sent n, and
    /// runsc's own failure (128) after the sandbox's kernel ended is the SIGKILL that ended it.
    private func unfolded(_ status: WaitStatus) async -> WaitStatus {
        guard let runsc, case .exited(let code) = status, code >= 128, code < 128 + 65 else { return status }
        if code == 128 {
            // The waiter learns of the end through its socket, a moment before the pidfd says so.
            let deadline = ContinuousClock.now + .milliseconds(500)
            while !runsc.sandboxGone(), ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
            return runsc.sandboxGone() ? .signaled(SIGKILL) : status
        }
        let sent = state.withLock { $0.sentSignals.contains(code - 128) }
        return sent ? .signaled(code - 128) : status
    }

    private func noteEnded(_ exit: ProcessExit) {
        guard let processEnded = hooks.processEnded else { return }
        let first = state.withLock { state in
            defer { state.endNoted = true }
            return !state.endNoted
        }
        if first { processEnded(exit) }
    }

    private func exit(for status: WaitStatus) async -> ProcessExit {
        let status = await unfolded(status)
        let ending = state.withLock { $0.ending }
        switch status {
        case .exited(let code):
            if code == 137, cgroup.oomKills > oomKillsAtStart { return ProcessExit(reason: .oomKilled, code: 137) }
            return .exited(code)
        case .signaled(let signal):
            if signal == SIGKILL {
                switch ending {
                case .timedOut: return ProcessExit(reason: .timeout, code: 137, signal: signal)
                case .killed: return ProcessExit(reason: .killed, code: 137, signal: signal)
                case .none:
                    if cgroup.oomKills > oomKillsAtStart {
                        return ProcessExit(reason: .oomKilled, code: 137, signal: signal)
                    }
                }
            }
            return .signaled(signal)
        }
    }

    /// SIGKILL, with the reason its exit will report.
    func kill(for ending: Ending) {
        guard let child, child.poll() == nil else { return }
        state.withLock { if $0.ending == .none { $0.ending = ending } }
        send(SIGKILL)
    }

    private func send(_ signal: Int32) {
        guard let runsc else {
            child?.signal(signal)
            return
        }
        state.withLock { _ = $0.sentSignals.insert(signal) }
        runsc.signal(signal)
    }

    /// Returns once the exit is recorded (the pump finished).
    func waitUntilEnded() async {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> Bool in
                if state.exit != nil { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if ended { continuation.resume() }
        }
    }

    // MARK: Readers

    /// Registers a reader at `offset` (nil: the oldest byte kept), which must lie within what the
    /// spool keeps.
    func attach(from requested: UInt64?) throws(SandboxError) -> Int {
        try state.withLock { state throws(SandboxError) -> Int in
            let (start, end) = (state.spool.retainedFrom, state.spool.end)
            let offset = requested ?? start
            guard offset >= start, offset <= end else {
                throw SandboxError(
                    code: .outOfRange,
                    message: "offset \(offset) is outside the kept output of exec \(id) (\(start)..<\(end))"
                )
            }
            state.nextAttachment += 1
            state.attachments[state.nextAttachment] = offset
            return state.nextAttachment
        }
    }

    func detach(_ reader: Int) {
        let (parked, pump) = state.withLock { state in
            state.attachments[reader] = nil
            return (state.readers.removeValue(forKey: reader), wakePumpIfBelowWindow(&state))
        }
        parked?.resume(throwing: CancellationError())
        pump?.resume()
    }

    enum Next {
        case chunk(ExecSpool.Chunk)
        case exit(ProcessExit)
        case ended
    }

    /// The reader's next chunk (advancing it), or the exit once it has read everything.
    func next(for reader: Int, exitDelivered: Bool) async throws -> Next {
        while true {
            let (result, pump) = try state.withLock {
                state throws(SandboxError) -> (Next?, CheckedContinuation<Void, any Error>?) in
                guard let offset = state.attachments[reader] else { return (.ended, nil) }
                switch state.spool.read(from: offset) {
                case .chunk(let chunk):
                    state.attachments[reader] = offset + UInt64(chunk.bytes.count)
                    return (.chunk(chunk), wakePumpIfBelowWindow(&state))
                case .dropped(let retainedFrom):
                    throw SandboxError(
                        code: .outOfRange,
                        message: "output of exec \(id) before offset \(retainedFrom) was dropped"
                    )
                case .atEnd:
                    if let exit = state.exit { return (exitDelivered ? .ended : .exit(exit), nil) }
                    return (nil, nil)
                }
            }
            pump?.resume()
            if let result { return result }
            try await waitForOutput(reader)
        }
    }

    private func waitForOutput(_ reader: Int) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { state -> Bool in
                    guard let offset = state.attachments[reader] else { return true }
                    if offset < state.spool.end || state.exit != nil { return true }
                    state.readers[reader] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.readers.removeValue(forKey: reader) }?.resume(throwing: CancellationError())
        }
    }

    // MARK: Input

    func writeStdin(_ bytes: [UInt8]) async throws {
        try await withStdin(closingAfterwards: false) { fd in try await self.writeAll(bytes, to: fd) }
    }

    /// Runs `body` with the stdin descriptor, which nobody closes meanwhile: a close asked for during
    /// `body` deregisters it (so a wait for it ends) and happens when `body` returns.
    private func withStdin(closingAfterwards: Bool, _ body: (Int32) async throws -> Void) async throws {
        var descriptor: Int32?
        while descriptor == nil {
            descriptor = try state.withLock { state throws(SandboxError) -> Int32? in
                guard state.exit == nil, !state.stdinClosed, let fd = state.stdin else {
                    throw SandboxError(code: .failedPrecondition, message: "stdin is closed")
                }
                // Another client is writing: wait for its turn, message by message.
                guard !state.stdinBusy else { return nil }
                state.stdinBusy = true
                if closingAfterwards { state.stdinClosed = true }
                return fd
            }
            if descriptor == nil {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let free = state.withLock { state -> Bool in
                        guard state.stdinBusy else { return true }
                        state.stdinWaiters.append(continuation)
                        return false
                    }
                    if free { continuation.resume() }
                }
            }
        }
        defer {
            let (close, next) = state.withLock { state -> (Int32?, CheckedContinuation<Void, Never>?) in
                state.stdinBusy = false
                let next = state.stdinWaiters.isEmpty ? nil : state.stdinWaiters.removeFirst()
                guard state.stdinCloseRequested else { return (nil, next) }
                defer { state.stdin = nil }
                return (state.stdin, next)
            }
            if let close { Self.closeOutput(close) }
            next?.resume()
        }
        guard let descriptor else { return }
        try await body(descriptor)
    }

    private func writeAll(_ bytes: [UInt8], to fd: Int32) async throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if written > 0 {
                offset += written
            } else if errno == EAGAIN {
                _ = try await FileDescriptorPoller.shared.wait([fd])
            } else if errno == EPIPE || errno == EIO {
                return  // the process stopped reading (or its terminal closed); like a shell, drop the rest
            } else if errno != EINTR {
                throw SandboxError(code: .internal, message: "writing stdin failed", cause: SystemError("write"))
            }
        }
    }

    /// A pipe is closed. A terminal cannot be closed without hanging up its session, so it gets its
    /// end-of-file character (^D), as typed at a keyboard (after a partial line, a second one is needed).
    func closeStdin() async throws {
        guard terminal else {
            closeStdinDescriptor()
            return
        }
        if state.withLock({ $0.stdinClosed || $0.exit != nil }) { return }
        try await withStdin(closingAfterwards: true) { fd in try await self.writeAll([0x04], to: fd) }
    }

    /// Closes stdin now, or, while a writer uses it, wakes the writer and lets it close it.
    private func closeStdinDescriptor(releasingKept: Bool = true) {
        let (close, deregister) = state.withLock { state -> (Int32?, Int32?) in
            state.stdinClosed = true
            if releasingKept { releaseKeptStdin(&state) }
            guard let fd = state.stdin else { return (nil, nil) }
            if state.stdinBusy {
                state.stdinCloseRequested = true
                return (nil, fd)
            }
            state.stdin = nil
            return (fd, nil)
        }
        if let deregister { FileDescriptorPoller.shared.deregister(deregister) }
        if let close { Self.closeOutput(close) }
    }

    func signal(_ signal: Int32) throws(SandboxError) {
        guard (1...64).contains(signal) else { throw SandboxError.invalidArgument("no such signal \(signal)") }
        guard child?.poll() == nil else { return }
        send(signal)
    }

    func resize(_ size: TerminalSize) throws(SandboxError) {
        guard terminal else { throw SandboxError(code: .failedPrecondition, message: "the process has no terminal") }
        guard size.rows > 0, size.columns > 0 else { throw SandboxError.invalidArgument("empty terminal size") }
        // Under the lock: the descriptor cannot be closed (and its number reused) meanwhile.
        let failure = state.withLock { state -> SystemError? in
            guard let fd = state.stdin else { return SystemError("ioctl", errno: EBADF) }
            return LinuxCalls.setWindowSize(fd, rows: size.rows, columns: size.columns) == 0
                ? nil : SystemError("ioctl")
        }
        if let failure {
            throw SandboxError(code: .failedPrecondition, message: "the terminal is gone", cause: failure)
        }
    }

    /// Forgets the spool's files and the keeper's record (the exec is dropped, or its sandbox removed).
    func removeSpool() {
        state.withLock { state in
            guard !state.leftRunning else { return }
            // The record first: a record without its spool would list an exec with no output.
            if record != nil { keeper?.forget(id.rawValue) }
            state.spool.removeFiles()
        }
    }
}
