public import ExecboxRPC
public import ExecboxStorage
public import Foundation
public import Logging

/// The service layer as one value: the interceptors in their order and the services over one
/// store. The server and the tests build their routers from it, so both run the same chain:
/// request ids, logs and error mapping outermost, then authentication, then rate limits.
public struct ServiceStack: Sendable {
    public let store: any ExecboxStore
    public let tiers: TierTable
    public let limiter: RateLimiter
    public let now: @Sendable () -> Date
    public let revalidateEvery: Duration
    public let logger: Logger

    public init(
        store: any ExecboxStore,
        tiers: TierTable = .defaults,
        limiter: RateLimiter = RateLimiter(),
        now: @escaping @Sendable () -> Date = { Date() },
        revalidateEvery: Duration = .seconds(2),
        logger: Logger = Logger(label: "execbox")
    ) {
        self.store = store
        self.tiers = tiers
        self.limiter = limiter
        self.now = now
        self.revalidateEvery = revalidateEvery
        self.logger = logger
    }

    public var authenticator: Authenticator {
        Authenticator(store: store, now: now, logger: logger)
    }

    public var interceptors: [any ServerInterceptor] {
        [
            RequestInterceptor(logger: logger),
            AuthInterceptor(authenticator: authenticator, revalidateEvery: revalidateEvery),
            RateLimitInterceptor(limiter: limiter, tiers: tiers),
        ]
    }

    public var accountService: AccountService {
        AccountService(store: store, tiers: tiers, now: now)
    }

    public var administration: AccountAdministration {
        AccountAdministration(store: store, tiers: tiers, now: now)
    }

    /// The session services over one manager: sessions, processes, files and ports.
    public func sessionServices(_ manager: SessionManager, maxUploadBytes: Int = 100 << 20) -> [any RPCService] {
        [
            SessionService(manager: manager), ProcessService(manager: manager),
            FileService(manager: manager, maxUploadBytes: maxUploadBytes), NetworkService(manager: manager),
        ]
    }

    /// A router with the interceptors around everything, serving AccountService and `services`.
    public func router(with services: [any RPCService] = []) -> RPCRouter {
        RPCRouter(services: [accountService] + services, interceptors: interceptors)
    }
}
