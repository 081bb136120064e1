import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxStorageSQLite
import ExecboxTesting
import ExecboxWire
import Foundation
import Logging

@testable import ExecboxService

/// A temporary SQLite store with the whole service stack in front of it, served in-process, and a
/// manual clock for expiry and rate limits.
final class ServiceFixture: Sendable {
    let directory: String
    let store: SQLStore
    let clock = ManualClock()
    let stack: ServiceStack
    let client: AccountServiceClient<InProcessTransport>

    init(tiers: TierTable = .defaults, revalidateEvery: Duration = .seconds(2)) async throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "execbox-service-\(UUID().uuidString)"
            ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try await SQLStore.sqlite(path: directory + "/execbox.db", key: .random())
        var logger = Logger(label: "execbox.test")
        logger.logLevel = .critical
        stack = ServiceStack(
            store: store, tiers: tiers, limiter: RateLimiter(now: clock.monotonic), now: clock.wall,
            revalidateEvery: revalidateEvery, logger: logger)
        client = AccountServiceClient(transport: InProcessTransport(router: stack.router()))
    }

    func close() async {
        await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A new account with its primary key.
    func account(tier: ExecboxStorage.Tier = .free, email: String? = nil) async throws -> Caller {
        let minted = try await stack.administration.createAccount(
            email: email ?? "\(UUID().uuidString.prefix(8))@example.com", keyName: "primary", tier: tier,
            uniqueEmail: true)
        return Caller(accountID: minted.account.id, keyID: minted.key.id, secret: minted.secret)
    }

    /// A secondary key of `owner`'s account, created over the API.
    func secondaryKey(of owner: Caller, name: String = "ci") async throws -> Caller {
        let created = try await client.createAPIKey(.with { $0.name = name }, metadata: owner.metadata)
        return Caller(accountID: owner.accountID, keyID: created.apiKey!.id, secret: created.secret)
    }
}

/// Someone holding a key.
struct Caller: Sendable {
    var accountID: String
    var keyID: String
    var secret: String

    var metadata: Metadata { [("authorization", .string("Bearer \(secret)"))] }
}

/// The status code a call failed with (nil when it succeeded).
func status(_ body: () async throws -> some Any) async -> RPCError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

/// The RPCError a call failed with.
func failure(_ body: () async throws -> some Any) async -> RPCError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? RPCError
    }
}

/// Runs `body` against a fresh fixture and closes it afterwards, also when `body` throws.
func withFixture(
    tiers: TierTable = .roomy, revalidateEvery: Duration = .seconds(2),
    _ body: (ServiceFixture) async throws -> Void
) async throws {
    let fixture = try await ServiceFixture(tiers: tiers, revalidateEvery: revalidateEvery)
    do {
        try await body(fixture)
    } catch {
        await fixture.close()
        throw error
    }
    await fixture.close()
}

extension TierTable {
    /// The defaults with request rates high enough for any test that is not about rate limits
    /// (the manual clock never refills a bucket by itself).
    static var roomy: TierTable {
        var table = TierTable.defaults
        let plenty = RateLimit(perSecond: 10_000, burst: 10_000)
        table.publicRate = plenty
        for (tier, policy) in table.policies where policy.keyRate != nil {
            table.policies[tier]?.keyRate = plenty
            table.policies[tier]?.accountRate = plenty
        }
        return table
    }
}
