public import ExecboxAPI
public import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

/// `execbox.v1.SessionService` over a ``SessionManager``. Sessions belong to the caller's
/// account; another account's ids answer NOT_FOUND exactly like missing ones.
public struct SessionService: SessionServiceProtocol {
    public let manager: SessionManager

    public init(manager: SessionManager) {
        self.manager = manager
    }

    public func createSession(request: CreateSessionRequest, context: ServerContext) async throws
        -> CreateSessionResponse
    {
        let principal = try Principal.required()
        let key = request.idempotencyKey
        guard key.utf8.count <= 128, key.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw Validation.invalid("idempotency_key must be 1 to 128 printable ASCII characters")
        }
        let policy = manager.tiers.policy(for: principal.tier)
        let plan = try SessionPlan(request, policy: policy)
        let creation = try await manager.create(
            plan, idempotencyKey: key, principal: principal, quota: Self.quota(for: policy))
        return CreateSessionResponse.with {
            $0.session = APIMapping.session(creation.session)
            $0.idempotentReplayed = creation.replayed
        }
    }

    /// The tier's limits; the store tightens them with the account's own limits and the calling
    /// key's custom ones, read in the insert's transaction.
    static func quota(for policy: TierPolicy) -> SessionQuota {
        func limit(_ value: Int) -> Int? { value < 0 ? nil : value }
        return SessionQuota(
            accountConcurrent: limit(policy.concurrentSessions), accountDaily: limit(policy.dailySessions),
            includesStoredLimits: true)
    }

    public func getSession(request: GetSessionRequest, context: ServerContext) async throws -> GetSessionResponse {
        let principal = try Principal.required()
        let record = try await manager.session(request.sessionId, of: principal)
        let live = await manager.live(record)
        return GetSessionResponse.with { $0.session = APIMapping.session(live) }
    }

    public func listSessions(request: ListSessionsRequest, context: ServerContext) async throws
        -> ListSessionsResponse
    {
        let principal = try Principal.required()
        guard request.statuses.count <= 8, request.labels.count <= 16 else {
            throw Validation.invalid("at most 8 statuses and 16 labels in a filter")
        }
        try SessionPlan.validateLabels(request.labels)
        var statuses = Set<ExecboxStorage.SessionStatus>()
        for status in request.statuses {
            guard let stored = APIMapping.status(status) else {
                throw Validation.invalid("statuses must not contain SESSION_STATUS_UNSPECIFIED")
            }
            statuses.insert(stored)
        }
        if !request.apiKeyId.isEmpty { _ = try Validation.keyID(request.apiKeyId) }
        let filters =
            "\(statuses.map(\.rawValue).sorted())|\(request.labels.sorted { $0.key < $1.key })|\(request.apiKeyId)"
        let now = manager.now()
        let page = try await manager.store.listSessions(
            SessionQuery(
                accountID: principal.accountID,
                apiKeyID: request.apiKeyId.isEmpty ? nil : request.apiKeyId.lowercased(),
                statuses: statuses,
                labels: request.labels,
                page: try PageToken.pageRequest(request.page, filters: filters, now: now)))
        return ListSessionsResponse.with {
            $0.sessions = page.items.map(APIMapping.session)
            $0.page = PageToken.response(page.nextCursor, filters: filters, now: now)
        }
    }

    public func stopSession(request: StopSessionRequest, context: ServerContext) async throws -> StopSessionResponse {
        let principal = try Principal.required()
        guard (0...60000).contains(request.gracePeriodMs) else {
            throw Validation.invalid("grace_period_ms must be 0 to 60000")
        }
        let record = try await manager.session(request.sessionId, of: principal)
        let grace = Duration.milliseconds(request.gracePeriodMs == 0 ? 10000 : request.gracePeriodMs)
        let stopped = try await manager.stop(record, grace: grace)
        return StopSessionResponse.with { $0.session = APIMapping.session(stopped) }
    }

    public func killSession(request: KillSessionRequest, context: ServerContext) async throws -> KillSessionResponse {
        let principal = try Principal.required()
        let record = try await manager.session(request.sessionId, of: principal)
        let killed = try await manager.kill(record)
        return KillSessionResponse.with { $0.session = APIMapping.session(killed) }
    }

    public func watchSession(
        request: WatchSessionRequest, responses: RPCWriter<WatchSessionResponse>, context: ServerContext
    ) async throws {
        let principal = try Principal.required()
        let current = try await manager.session(request.sessionId, of: principal)
        // Only the server running the session sees its events.
        if current.status.isActive { try manager.requireLocal(current) }
        // Subscribe before reading the snapshot, so no change falls between the two.
        let (sequence, events) = manager.events.subscribe(request.sessionId)
        let snapshot = try await manager.session(request.sessionId, of: principal)
        try await responses.write(
            WatchSessionResponse.with {
                $0.type = .snapshot
                $0.sequence = sequence
                $0.occurredAt = Timestamps.make(manager.now())
                $0.previousStatus = APIMapping.status(snapshot.status)
                $0.session = APIMapping.session(snapshot)
            })
        if snapshot.status.isTerminal { return }
        for await event in events where event.sequence > sequence {
            try await responses.write(Self.response(event))
            if event.kind == .statusChanged, event.session.status.isTerminal { return }
        }
    }

    static func response(_ event: SessionEvent) -> WatchSessionResponse {
        WatchSessionResponse.with {
            $0.type =
                switch event.kind {
                case .snapshot: .snapshot
                case .statusChanged: .statusChanged
                case .networkChanged: .networkChanged
                case .timeoutExtended: .timeoutExtended
                case .expiringSoon: .expiringSoon
                case .mainProcessExited: .mainProcessExited
                }
            $0.sequence = event.sequence
            $0.occurredAt = Timestamps.make(event.occurredAt)
            $0.previousStatus = APIMapping.status(event.previous)
            $0.session = APIMapping.session(event.session)
            $0.message = String(event.message.utf8.prefix(1024)) ?? ""
        }
    }

    public func extendTimeout(request: ExtendTimeoutRequest, context: ServerContext) async throws
        -> ExtendTimeoutResponse
    {
        let principal = try Principal.required()
        guard (1000...86_400_000).contains(request.extendByMs) else {
            throw Validation.invalid("extend_by_ms must be 1000 to 86400000")
        }
        let record = try await manager.session(request.sessionId, of: principal)
        let updated = try await manager.extend(record, by: .milliseconds(request.extendByMs))
        return ExtendTimeoutResponse.with {
            $0.expiresAt = Timestamps.make(updated.expiresAt)
            if let expires = updated.expiresAt {
                $0.timeoutMs = Int64(expires.timeIntervalSince(updated.startedAt ?? updated.createdAt) * 1000)
            }
        }
    }
}
