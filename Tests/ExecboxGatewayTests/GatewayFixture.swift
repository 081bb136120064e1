import ExecboxGateway
import ExecboxService
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxStorageSQLite
import ExecboxTesting
import Foundation
import Logging

/// The gateway over the real service stack on a temporary SQLite store, driven through the
/// router-level REST client.
final class GatewayFixture: Sendable {
    let directory: String
    let store: SQLStore
    let stack: ServiceStack
    let client: GatewayTestClient

    init(configuration: GatewayConfiguration = GatewayConfiguration(), tiers: TierTable? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("execbox-gateway-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try await SQLStore.sqlite(path: directory + "/execbox.db", key: .random())
        var logger = Logger(label: "execbox.test")
        logger.logLevel = .critical
        var table = TierTable.defaults
        if let tiers {
            table = tiers
        } else {
            let plenty = RateLimit(perSecond: 10_000, burst: 10_000)
            table.publicRate = plenty
            for (tier, policy) in table.policies where policy.keyRate != nil {
                table.policies[tier]?.keyRate = plenty
                if policy.accountRate != nil { table.policies[tier]?.accountRate = plenty }
            }
        }
        stack = ServiceStack(store: store, tiers: table, logger: logger)
        client = GatewayTestClient(
            gateway: Gateway(router: stack.router(), configuration: configuration) { (200, #"{"status":"ok"}"#) })
    }

    /// A new free-tier account's primary key.
    func key(tier: ExecboxStorage.Tier = .free) async throws -> String {
        try await stack.administration.createAccount(
            email: "\(UUID().uuidString.prefix(8))@example.com", keyName: "primary", tier: tier, uniqueEmail: true
        ).secret
    }

    func close() async {
        await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

func withGateway(
    configuration: GatewayConfiguration = GatewayConfiguration(), tiers: TierTable? = nil,
    _ body: (GatewayFixture) async throws -> Void
) async throws {
    let fixture = try await GatewayFixture(configuration: configuration, tiers: tiers)
    do {
        try await body(fixture)
    } catch {
        await fixture.close()
        throw error
    }
    await fixture.close()
}
