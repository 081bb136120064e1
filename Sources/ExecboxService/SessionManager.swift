import ExecboxRPC
public import ExecboxSandbox
public import ExecboxStorage
public import Foundation
public import Logging
import Synchronization

/// Sessions over a store and a backend: the one place that moves a session through its states,
/// keeps the store and the backend in step, and meters usage.
///
/// The store is the record (what the caller sees, quotas, usage); the backend runs the sandbox.
/// A session's sandbox has the session's id. Every end of a session — stop, kill, its timeout, its
/// main process exiting, the backend losing it, a server restart — goes through ``finalize``,
/// which records the session's usage under the idempotency key `session:<id>`, so it counts once
/// however often it runs (a crash between the usage row and the status update just runs it again).
///
/// ``run()`` is the reconciler: every `reconcileInterval` it compares the active sessions of the
/// store with the backend, ends what ended, fires deadlines, and removes ended sandboxes after
/// `retention`; it also writes exec usage, which execs report without waiting for the database.
public final class SessionManager: Sendable {
    public struct Settings: Sendable {
        /// The backend's name as stored with each session (`runc`).
        public var backendName: String
        public var nodeID: String
        public var prices: PriceTable
        public var reconcileInterval: Duration
        /// How long an ended session's sandbox (its exec records and spools) stays readable.
        public var retention: Duration
        /// A PENDING session older than this that no create is working on is failed.
        public var pendingTimeout: Duration

        public init(
            backendName: String = "runc",
            nodeID: String = ProcessInfo.processInfo.hostName,
            prices: PriceTable = .defaults,
            reconcileInterval: Duration = .milliseconds(500),
            retention: Duration = .seconds(900),
            pendingTimeout: Duration = .seconds(120)
        ) {
            self.backendName = backendName
            self.nodeID = nodeID
            self.prices = prices
            self.reconcileInterval = reconcileInterval
            self.retention = retention
            self.pendingTimeout = pendingTimeout
        }
    }

    public let store: any ExecboxStore
    public let backend: any SandboxBackend
    public let tiers: TierTable
    public let settings: Settings
    let now: @Sendable () -> Date
    let logger: Logger
    let events = SessionEvents()
    /// Image builds, when the backend has images.
    let images: ImageBuilds?

    struct State {
        /// Sessions a create of this process is starting (the reconciler leaves them alone).
        var creating: Set<String> = []
        /// Ends in progress: everyone asking waits for the same one (the UUID tells a later end of
        /// the same session apart, so a late waiter never removes it).
        var finalizing: [String: (id: UUID, task: Task<SessionRecord, any Error>)] = [:]
        /// Sessions whose EXPIRING_SOON event went out, with the deadline it was for.
        var warned: [String: Date] = [:]
        /// Ended sandboxes still kept by the backend, with when they ended.
        var ended: [String: Date] = [:]
        /// What the backend does not keep about an exec, by session id and exec id.
        var execNotes: [String: [String: ExecNote]] = [:]
    }

    /// How an exec was started through the API (what the backend does not keep).
    struct ExecNote: Sendable {
        var background: Bool
        var workDir: String
    }

    /// At most this many notes per session; past it, foreground execs' notes go (the backend keeps
    /// only its most recent ended execs anyway).
    static let maxExecNotes = 1024

    func noteExec(_ sessionID: String, _ execID: String, _ note: ExecNote) {
        state.withLock { state in
            if state.execNotes[sessionID]?.count ?? 0 >= Self.maxExecNotes {
                state.execNotes[sessionID] = state.execNotes[sessionID]?.filter(\.value.background)
            }
            state.execNotes[sessionID, default: [:]][execID] = note
        }
    }

    func execNote(_ sessionID: String, _ execID: String) -> ExecNote? {
        state.withLock { $0.execNotes[sessionID]?[execID] }
    }

    let state = Mutex(State())

    public init(
        store: any ExecboxStore,
        backend: any SandboxBackend,
        tiers: TierTable,
        settings: Settings = Settings(),
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "execbox.sessions")
    ) {
        self.store = store
        self.backend = backend
        self.tiers = tiers
        self.settings = settings
        self.now = now
        self.logger = logger
        images = (backend as? any SandboxImageBackend).map {
            ImageBuilds(backend: $0, store: store, now: now, logger: Logger(label: "execbox.images"))
        }
    }

    static func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "sess_"
            + (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// The sandbox of a session id (session ids are valid sandbox ids by construction; anything
    /// else cannot be the caller's session).
    static func sandboxID(_ sessionID: String) throws -> SandboxID {
        guard let id = try? SandboxID(sessionID) else { throw ServiceErrors.sessionNotFound }
        return id
    }

    // MARK: Create

    func create(_ plan: SessionPlan, idempotencyKey: String, principal: Principal, quota: SessionQuota) async throws
        -> SessionCreation
    {
        // Nothing is recorded (or counted against the daily quota) while the backend cannot start
        // sandboxes.
        guard await backend.health().status == .serving else {
            throw RPCError(code: .unavailable, message: "the sandbox backend cannot take new sessions; retry later")
        }
        let id = Self.newSessionID()
        let createdAt = now()
        let image = try await resolveImage(plan, principal: principal)
        var record = SessionRecord(
            id: id, accountID: principal.accountID, apiKeyID: principal.keyID, status: .pending, spec: plan.spec,
            backend: settings.backendName, backendID: id, nodeID: settings.nodeID, createdAt: createdAt,
            idempotencyKey: idempotencyKey.isEmpty ? nil : idempotencyKey)
        record.setupHash = plan.setupHash
        record.imageCacheHit = image.cacheHit
        let claim =
            idempotencyKey.isEmpty
            ? nil
            : IdempotencyClaim(
                key: idempotencyKey, requestDigest: plan.digest, expiresAt: createdAt.addingTimeInterval(24 * 3600))
        state.withLock { _ = $0.creating.insert(id) }
        defer { state.withLock { _ = $0.creating.remove(id) } }
        let creation = try await store.createSession(
            record, environment: plan.environment, quota: quota, idempotency: claim)
        RequestInfo.current?.attribution.sessionID = creation.session.id
        if creation.replayed { return creation }
        let sandboxID = try Self.sandboxID(id)
        do {
            // The backend's file system work and process spawning run off the caller's executor (a
            // connection's event loop, where the HTTP/2 server runs handlers).
            try await withTaskExecutorPreference(globalConcurrentExecutor) {
                _ = try await backend.create(
                    sandboxID, try await self.sandboxSpec(plan, image, session: creation.session))
                for file in plan.files {
                    _ = try await backend.writeFile(
                        sandboxID, path: file.path, contents: file.contents, mode: 0o644, createParents: true)
                }
            }
        } catch {
            let message = (error as? SandboxError)?.message ?? "the sandbox could not be created"
            logger.warning("session \(id) failed to start: \(error)")
            _ = try? await backend.kill(sandboxID)
            _ = try? await finalize(
                creation.session, status: .failed,
                exit: ExitStatus(code: -1, reason: .startFailed), message: message)
            // The host is full: not the caller's quota (RESOURCE_EXHAUSTED would read as one).
            if let error = error as? SandboxError, error.code == .resourceExhausted {
                throw RPCError(code: .unavailable, message: "this server has no room for another sandbox; retry later")
            }
            throw error
        }
        let startedAt = now()
        var change = SessionChange(
            status: .running, imageID: image.id, imageRef: image.id,
            startedAt: startedAt,
            expiresAt: startedAt.addingTimeInterval(plan.timeout / .seconds(1)), lastActivityAt: startedAt)
        change.network = try? await networkInfo(sandboxID, spec: plan.spec)
        do {
            // Not synced before the reply: one fsync less per create (0.3 ms p50 on the project's VM,
            // more in the tail). A crash of this process keeps the commit; an OS crash or power loss
            // that loses it ends the sandbox too (SQLite), and after a PostgreSQL crash the reconciler
            // marks the still-PENDING session RUNNING.
            let running = try await store.updateSession(
                id: id, accountID: nil, allowedFrom: [.pending, .building], change, durability: .deferred)
            events.publish(
                running, type: .statusChanged, previous: plan.build == nil ? .pending : .building, at: startedAt)
            return SessionCreation(session: running, replayed: false)
        } catch let error as StorageError where error.code == .failedPrecondition {
            // Killed while starting: the kill's record stands.
            return SessionCreation(
                session: try await store.session(id: id, accountID: nil) ?? creation.session, replayed: false)
        }
    }

    /// Where the declared ports are reached, for an exposed session.
    func networkInfo(_ id: SandboxID, spec: ExecboxStorage.SessionSpec) async throws -> NetworkInfo {
        var info = NetworkInfo(mode: spec.network)
        guard spec.network == .exposed, !spec.ports.isEmpty else { return info }
        for port in spec.ports {
            let url = try await backend.portURL(id, port: port.containerPort)
            let parsed = URLComponents(string: url)
            info.host = parsed?.host ?? ""
            info.ports.append(
                .init(
                    containerPort: port.containerPort, transport: port.transport, hostPort: parsed?.port ?? 0, url: url)
            )
        }
        return info
    }

    // MARK: Lookups

    /// The caller's session, NOT_FOUND for anything else.
    func session(_ id: String, of principal: Principal) async throws -> SessionRecord {
        guard !id.isEmpty else { throw Validation.invalid("session_id is required") }
        guard id.utf8.count <= 64, let record = try await store.session(id: id, accountID: principal.accountID) else {
            throw ServiceErrors.sessionNotFound
        }
        RequestInfo.current?.attribution.sessionID = record.id
        return record
    }

    /// Whether this server runs the session: its backend and node are this server's.
    func isLocal(_ record: SessionRecord) -> Bool {
        record.backend == settings.backendName && record.nodeID == settings.nodeID
    }

    /// A session another server of the deployment runs (another node, or another backend) is not
    /// this server's to touch: its backend does not know the sandbox.
    func requireLocal(_ record: SessionRecord) throws {
        guard isLocal(record) else {
            throw RPCError(
                code: .unavailable,
                message: "the session runs on another server of this deployment; call that server")
        }
    }

    /// The caller's session and its sandbox, which must be RUNNING.
    func runningSandbox(_ id: String, of principal: Principal) async throws -> (SessionRecord, SandboxID) {
        let record = try await session(id, of: principal)
        try requireLocal(record)
        guard record.status == .running else {
            throw ServiceErrors.notRunning(record)
        }
        return (record, try Self.sandboxID(record.id))
    }

    /// The session with its usage so far while it runs (duration, CPU, memory peak, cost).
    func live(_ record: SessionRecord) async -> SessionRecord {
        guard record.status.isActive, let started = record.startedAt,
            let id = try? Self.sandboxID(record.id), let stats = try? await backend.stats(id)
        else { return record }
        var live = record
        live.usage = usage(startedAt: started, endedAt: now(), stats: stats)
        return live
    }

    func usage(startedAt: Date, endedAt: Date, stats: SandboxStats?) -> SessionUsage {
        let durationMs = max(0, Int((endedAt.timeIntervalSince(startedAt) * 1000).rounded()))
        let cpuMs = Int((stats?.cpuNanoseconds ?? 0) / 1_000_000)
        let peakMB = Int(((stats?.memoryPeakBytes ?? 0) + (1 << 20) - 1) >> 20)
        return SessionUsage(
            durationMs: durationMs, cpuTimeMs: cpuMs, memoryPeakMB: peakMB,
            costCents: PriceTable.legacyCents(durationMs: durationMs, cpuTimeMs: cpuMs, memoryMB: peakMB),
            costMicroUSD: settings.prices.microUSD(durationMs: durationMs, cpuTimeMs: cpuMs, memoryPeakMB: peakMB))
    }

    // MARK: Stop, kill, extend

    func stop(_ record: SessionRecord, grace: Duration) async throws -> SessionRecord {
        try requireLocal(record)
        guard record.status.isActive else {
            throw ServiceErrors.failedPrecondition("session already \(record.status.rawValue)")
        }
        var current = record
        if record.status != .stopping {
            do {
                current = try await store.updateSession(
                    id: record.id, accountID: nil, allowedFrom: [.pending, .building, .running],
                    SessionChange(status: .stopping))
                events.publish(current, type: .statusChanged, previous: record.status, at: now())
            } catch let error as StorageError where error.code == .failedPrecondition {
                current = try await store.session(id: record.id, accountID: nil) ?? record
                guard current.status.isActive else {
                    throw ServiceErrors.failedPrecondition("session already \(current.status.rawValue)")
                }
            }
        }
        let id = try Self.sandboxID(record.id)
        let info: SandboxInfo?
        do {
            info = try await backend.stop(id, grace: grace)
        } catch let error as SandboxError where error.code == .notFound {
            info = nil
        }
        return try await finalize(current, info: info, requested: .stopped)
    }

    func kill(_ record: SessionRecord) async throws -> SessionRecord {
        if record.status.isActive { try requireLocal(record) }
        let id = try Self.sandboxID(record.id)
        let info: SandboxInfo?
        do {
            info = try await backend.kill(id)
        } catch let error as SandboxError where error.code == .notFound {
            info = nil
        }
        var ended = try await finalize(record, info: info, requested: .killed)
        // Killing destroys what is left; a session that had ended otherwise is now KILLED.
        try? await backend.remove(id)
        state.withLock { state in
            state.ended[record.id] = nil
            state.execNotes[record.id] = nil
        }
        if ended.status != .killed {
            let previous = ended.status
            ended = try await store.updateSession(
                id: record.id, accountID: nil, allowedFrom: nil, SessionChange(status: .killed))
            events.publish(ended, type: .statusChanged, previous: previous, at: now())
            events.finish(record.id)
        }
        return ended
    }

    func extend(_ record: SessionRecord, by extra: Duration) async throws -> SessionRecord {
        guard record.status == .running || record.status == .pending || record.status == .building else {
            throw ServiceErrors.failedPrecondition("session is \(record.status.rawValue)")
        }
        let start = record.startedAt ?? record.createdAt
        let current = record.expiresAt ?? start.addingTimeInterval(Double(record.spec.resources.timeoutMs) / 1000)
        let next = current.addingTimeInterval(extra / .seconds(1))
        let policy = tiers.policy(for: try await tier(of: record))
        let cap =
            policy.maxDurationSeconds >= 0
            ? Double(policy.maxDurationSeconds) : SessionPlan.unlimitedMaximumLifetime / .seconds(1)
        guard next.timeIntervalSince(start) <= cap + 0.001 else {
            throw RPCError(
                code: .permissionDenied,
                message: "the new lifetime of \(Int(next.timeIntervalSince(start) * 1000)) ms is above your tier's "
                    + "limit of \(Int(cap * 1000)) ms")
        }
        let updated = try await store.updateSession(
            id: record.id, accountID: nil, allowedFrom: [.pending, .building, .running],
            SessionChange(expiresAt: next))
        state.withLock { _ = $0.warned.removeValue(forKey: record.id) }
        events.publish(updated, type: .timeoutExtended, previous: updated.status, at: now())
        return updated
    }

    private func tier(of record: SessionRecord) async throws -> Tier {
        if let principal = Principal.current, principal.accountID == record.accountID { return principal.tier }
        return try await store.account(id: record.accountID)?.tier ?? .free
    }

    // MARK: Ending

    /// Ends a session whose sandbox reached `info` (nil: the backend does not know it): records
    /// its usage once and its terminal status. `requested` is what a stop or kill asked for.
    func finalize(_ record: SessionRecord, info: SandboxInfo?, requested: SessionStatus? = nil, timedOut: Bool = false)
        async throws -> SessionRecord
    {
        let (status, exit, message) = Self.ending(info: info, requested: requested, timedOut: timedOut, record: record)
        return try await finalize(record, status: status, exit: exit, message: message)
    }

    static func ending(info: SandboxInfo?, requested: SessionStatus?, timedOut: Bool, record: SessionRecord)
        -> (SessionStatus, ExitStatus?, String)
    {
        guard let info else {
            return (requested ?? .failed, ExitStatus(code: -1, reason: .lost), "the backend lost the sandbox")
        }
        var exit = info.exit.map(Self.exitStatus)
        if timedOut {
            let timeoutMs = record.spec.resources.timeoutMs
            exit = ExitStatus(code: 137, signal: 9, reason: .timeout)
            return (.stopped, exit, "wall-clock timeout of \(timeoutMs) ms reached")
        }
        if let requested { return (requested, exit, "") }
        switch info.state {
        case .stopped: return (.stopped, exit, exit?.reason == .idleTimeout ? "idle timeout reached" : "")
        case .timedOut:
            return (
                .stopped, exit.map { ExitStatus(code: $0.code, signal: $0.signal, reason: .timeout) }, "timeout reached"
            )
        case .killed: return (.killed, exit, "")
        case .lost:
            return (.failed, ExitStatus(code: -1, reason: .lost), info.failure ?? "the backend lost the sandbox")
        default: return (.failed, exit, info.failure ?? "")
        }
    }

    static func exitStatus(_ exit: ProcessExit) -> ExitStatus {
        let reason: ExitStatus.Reason =
            switch exit.reason {
            case .exited: .exited
            case .signaled: .signaled
            case .oomKilled: .oomKilled
            case .timeout: .timeout
            case .idleTimeout: .idleTimeout
            case .killed: .killed
            case .startFailed: .startFailed
            case .lost: .lost
            }
        return ExitStatus(
            code: Int(exit.code), signal: exit.signal.map(Int.init), reason: reason,
            oomKilled: exit.reason == .oomKilled)
    }

    /// Single flight per session: a second caller waits for the first one's result.
    func finalize(_ record: SessionRecord, status: SessionStatus, exit: ExitStatus?, message: String) async throws
        -> SessionRecord
    {
        // An unstructured task on purpose: the end must complete even when the caller that started
        // it is cancelled (a client that hung up on KillSession), and later callers await it.
        let (token, task) = state.withLock { state -> (UUID, Task<SessionRecord, any Error>) in
            if let running = state.finalizing[record.id] { return running }
            let entry = (UUID(), Task { try await self.end(record, status: status, exit: exit, message: message) })
            state.finalizing[record.id] = entry
            return entry
        }
        defer {
            state.withLock { state in
                if state.finalizing[record.id]?.id == token { state.finalizing[record.id] = nil }
            }
        }
        return try await task.value
    }

    private func end(_ record: SessionRecord, status: SessionStatus, exit: ExitStatus?, message: String) async throws
        -> SessionRecord
    {
        if let current = try await store.session(id: record.id, accountID: nil), current.status.isTerminal {
            return current
        }
        let endedAt = now()
        let id = try? Self.sandboxID(record.id)
        let stats: SandboxStats? = if let id { try? await backend.stats(id) } else { nil }
        let usage = usage(startedAt: record.startedAt ?? endedAt, endedAt: endedAt, stats: stats)
        let errors = (exit.map { $0.code != 0 && $0.code != nil } ?? false) || status == .failed ? 1 : 0
        let event = UsageEvent(
            idempotencyKey: "session:\(record.id)", accountID: record.accountID, apiKeyID: record.apiKeyID,
            sessionID: record.id, occurredAt: endedAt,
            measures: UsageMeasures(
                executions: 1, durationMs: usage.durationMs, cpuTimeMs: usage.cpuTimeMs,
                memoryMBSeconds: usage.memoryPeakMB * usage.durationMs / 1000, errors: errors,
                costCents: usage.costCents, costMicroUSD: usage.costMicroUSD))
        // Background execs (and every exec of a session a crashed server started) have no stream
        // that reports them; foreground ones are reported by their stream.
        if let id, let execs = try? await backend.listExecs(id) {
            let notes = state.withLock { $0.execNotes[record.id] ?? [:] }
            for exec in execs where notes[exec.id.rawValue].map(\.background) ?? true {
                let failed = exec.exit.map { $0.reason != .exited || $0.code != 0 } ?? false
                recordExecUsage(
                    record, execID: exec.id.rawValue, bytesIn: 0, bytesOut: Int(exec.outputBytes), failed: failed)
            }
        }
        let recorded = try await store.recordUsage(event)
        if !recorded { logger.info("usage of session \(record.id) was recorded before; not counted again") }
        let ended = try await store.updateSession(
            id: record.id, accountID: nil, allowedFrom: nil,
            SessionChange(status: status, endedAt: endedAt, exit: exit, statusMessage: message, usage: usage))
        state.withLock { state in
            state.ended[record.id] = endedAt
            _ = state.warned.removeValue(forKey: record.id)
        }
        if let exit, exit.reason != .lost {
            events.publish(ended, type: .mainProcessExited, previous: record.status, at: endedAt, message: message)
        }
        events.publish(ended, type: .statusChanged, previous: record.status, at: endedAt, message: message)
        events.finish(record.id)
        return ended
    }

    /// Usage of one exec: the bytes it moved through the API. Keyed by the exec, so an exec is
    /// counted once even when a stream and the session's end both report it.
    func recordExecUsage(_ record: SessionRecord, execID: String, bytesIn: Int, bytesOut: Int, failed: Bool) {
        let event = UsageEvent(
            idempotencyKey: "exec:\(record.id):\(execID)", accountID: record.accountID, apiKeyID: record.apiKeyID,
            sessionID: record.id, occurredAt: now(),
            measures: UsageMeasures(bytesIn: bytesIn, bytesOut: bytesOut, errors: failed ? 1 : 0))
        let waiter = pendingUsage.withLock { pending in
            pending.events.append(event)
            defer { pending.waiter = nil }
            return pending.waiter
        }
        waiter?.resume()
    }

    /// Exec usage waiting to be written by ``run()``, off the exec's path; what is left when `run`
    /// is cancelled is written before it returns.
    private let pendingUsage = Mutex<(events: [UsageEvent], waiter: CheckedContinuation<Void, Never>?)>(([], nil))

    private func writeExecUsage() async {
        while true {
            let batch = pendingUsage.withLock { pending in
                defer { pending.events = [] }
                return pending.events
            }
            for event in batch {
                do {
                    _ = try await store.recordUsage(event)
                } catch {
                    logger.error("recording usage \(event.idempotencyKey) failed: \(error)")
                }
            }
            if Task.isCancelled, pendingUsage.withLock({ $0.events.isEmpty }) { return }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = pendingUsage.withLock { pending -> Bool in
                        if !pending.events.isEmpty || Task.isCancelled { return true }
                        pending.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                pendingUsage.withLock { pending in
                    defer { pending.waiter = nil }
                    return pending.waiter
                }?.resume()
            }
        }
    }

    // MARK: Reconciler

    /// Runs until cancelled: ends sessions whose sandbox ended or vanished, fires deadlines, and
    /// forgets ended sandboxes after the retention period.
    /// Also writes exec usage as it is reported.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.writeExecUsage() }
            while !Task.isCancelled {
                do {
                    try await reconcile()
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("reconciling sessions failed: \(error)")
                }
                try? await Task.sleep(for: settings.reconcileInterval)
            }
            group.cancelAll()
        }
    }

    /// One pass of the reconciler.
    public func reconcile() async throws {
        var cursor: String?
        var active = Set<String>()
        repeat {
            let page = try await store.activeSessions(page: PageRequest(limit: 500, cursor: cursor))
            for record in page.items where isLocal(record) {
                try Task.checkCancellation()
                active.insert(record.id)
                await reconcile(record)
            }
            cursor = page.nextCursor
        } while cursor != nil
        try await killOrphans(active: active)
        let retention = settings.retention / .seconds(1)
        let expired = state.withLock { state -> [String] in
            let old = state.ended.filter { now().timeIntervalSince($0.value) > retention }.map(\.key)
            for id in old {
                state.ended[id] = nil
                state.execNotes[id] = nil
            }
            return old
        }
        for id in expired {
            if let sandboxID = try? SandboxID(id) { try? await backend.remove(sandboxID) }
        }
    }

    /// Sandboxes the backend runs that no active session owns — adopted after a restart although
    /// their session ended or was never recorded (a create that died with its server) — are killed.
    private func killOrphans(active: Set<String>) async throws {
        for info in try await backend.list() where !info.state.isTerminal && !active.contains(info.id.rawValue) {
            let id = info.id.rawValue
            guard !state.withLock({ $0.creating.contains(id) || $0.finalizing[id] != nil }) else { continue }
            // Created since the page was read: its session is there and active.
            if let record = try await store.session(id: id, accountID: nil), record.status.isActive { continue }
            logger.warning("killing sandbox \(id): no active session owns it")
            _ = try? await backend.kill(info.id)
            try? await backend.remove(info.id)
        }
    }

    private func reconcile(_ record: SessionRecord) async {
        let busy = state.withLock { $0.creating.contains(record.id) || $0.finalizing[record.id] != nil }
        guard !busy, let id = try? Self.sandboxID(record.id) else { return }
        do {
            let info: SandboxInfo
            do {
                info = try await backend.get(id)
            } catch let error as SandboxError where error.code == .notFound {
                if record.status == .pending,
                    now().timeIntervalSince(record.createdAt) < settings.pendingTimeout / .seconds(1)
                {
                    return
                }
                _ = try await finalize(record, info: nil)
                return
            }
            if info.state.isTerminal {
                _ = try await finalize(record, info: info)
                return
            }
            if record.status == .pending, info.state == .running,
                now().timeIntervalSince(record.createdAt) > settings.pendingTimeout / .seconds(1) / 4
            {
                // A create that died (with its server) after the sandbox started: the sandbox runs, so
                // the session does, from now, with its full timeout.
                let startedAt = now()
                let running = try await store.updateSession(
                    id: record.id, accountID: nil, allowedFrom: [.pending],
                    SessionChange(
                        status: .running, startedAt: startedAt,
                        expiresAt: startedAt.addingTimeInterval(Double(record.spec.resources.timeoutMs) / 1000)))
                events.publish(running, type: .statusChanged, previous: .pending, at: startedAt)
                return
            }
            // A stop whose backend call failed: past the deadline (plus a minute), kill it.
            if record.status == .stopping, let expiresAt = record.expiresAt, now() > expiresAt.addingTimeInterval(60) {
                let ended = try? await backend.kill(id)
                _ = try await finalize(record, info: ended, requested: .killed)
                return
            }
            guard record.status == .running, let expiresAt = record.expiresAt else { return }
            let left = expiresAt.timeIntervalSince(now())
            if left <= 0 {
                // The page may be older than an ExtendTimeout: look again before killing.
                guard let current = try await store.session(id: record.id, accountID: nil), current.status == .running,
                    let deadline = current.expiresAt, deadline <= now()
                else { return }
                let ended = try? await backend.kill(id)
                _ = try await finalize(current, info: ended, timedOut: true)
            } else if left < 60 {
                let first = state.withLock { state in
                    guard state.warned[record.id] != expiresAt else { return false }
                    state.warned[record.id] = expiresAt
                    return true
                }
                if first {
                    events.publish(
                        record, type: .expiringSoon, previous: record.status, at: now(),
                        message: "the session's deadline is \(Int(left)) s away")
                }
            }
        } catch {
            logger.warning("reconciling session \(record.id) failed: \(error)")
        }
    }
}
