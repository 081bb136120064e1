import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// Two accounts: every AccountService call naming the other account's objects is NOT_FOUND, with
/// the same message as an id that exists nowhere.
@Suite struct TenancyTests {
    @Test func anotherAccountsKeysAreNotFound() async throws {
        try await withFixture { fixture in
            let alice = try await fixture.account()
            let bob = try await fixture.account()
            let bobSecondary = try await fixture.secondaryKey(of: bob)
            let client = fixture.client
            let nowhere = UUID().uuidString.lowercased()
            for target in [bob.keyID, bobSecondary.keyID, nowhere] {
                let calls: [(String, () async throws -> Void)] = [
                    (
                        "GetAPIKey",
                        { _ = try await client.getAPIKey(.with { $0.keyId = target }, metadata: alice.metadata) }
                    ),
                    (
                        "UpdateAPIKey",
                        {
                            _ = try await client.updateAPIKey(
                                .with {
                                    $0.keyId = target
                                    $0.name = "x"
                                }, metadata: alice.metadata)
                        }
                    ),
                    (
                        "RevokeAPIKey",
                        { _ = try await client.revokeAPIKey(.with { $0.keyId = target }, metadata: alice.metadata) }
                    ),
                    (
                        "RotateAPIKey",
                        { _ = try await client.rotateAPIKey(.with { $0.keyId = target }, metadata: alice.metadata) }
                    ),
                    (
                        "GetUsage",
                        { _ = try await client.getUsage(.with { $0.apiKeyId = target }, metadata: alice.metadata) }
                    ),
                    (
                        "GetUsageHistory",
                        {
                            _ = try await client.getUsageHistory(
                                .with { $0.apiKeyId = target }, metadata: alice.metadata)
                        }
                    ),
                    (
                        "ExportUsage",
                        {
                            _ = try await client.exportUsage(.with { $0.apiKeyId = target }, metadata: alice.metadata) {
                                responses in
                                for try await _ in responses {}
                            }
                        }
                    ),
                ]
                for (name, call) in calls {
                    let error = await failure { try await call() }
                    #expect(error?.code == .notFound, "\(name) \(target)")
                    #expect(error?.message == "API key not found", "\(name) \(target)")
                }
            }
            // Bob's keys are untouched and still work.
            let bobKey = try await client.getAPIKey(.with { $0.keyId = bobSecondary.keyID }, metadata: bob.metadata)
            #expect(bobKey.apiKey?.name == "ci")
            #expect(bobKey.apiKey?.isActive == true)
            #expect(try await client.getAccount(.init(), metadata: bobSecondary.metadata).account?.id == bob.accountID)

            // Lists and the audit log only ever show the caller's account.
            let keys = try await client.listAPIKeys(.init(), metadata: alice.metadata)
            #expect(keys.keys.map(\.id) == [alice.keyID])
            let log = try await client.listAuditLog(
                .with { $0.targetId = bobSecondary.keyID }, metadata: alice.metadata)
            #expect(log.events.isEmpty)
            let everything = try await client.listAuditLog(.init(), metadata: alice.metadata)
            #expect(everything.events.allSatisfy { $0.targetId == alice.accountID || $0.targetId == alice.keyID })
            let limits = try await client.getLimits(.init(), metadata: alice.metadata)
            #expect(limits.limits?.effectiveDailyLimit == 10)
            let usage = try await client.getUsage(.init(), metadata: alice.metadata)
            #expect(usage.accountId == alice.accountID)
        }
    }
}
