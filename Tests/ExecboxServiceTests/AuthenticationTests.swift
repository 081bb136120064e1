import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// Who gets in, through the real interceptor chain in-process.
@Suite struct AuthenticationTests {
    @Test func missingBadAndForgedKeysAreUnauthenticatedWithOneMessage() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            var forged = Array(owner.secret)
            forged[50] = forged[50] == "A" ? "B" : "A"
            let badHeaders: [Metadata] = [
                [],
                [("authorization", .string(owner.secret))],
                [("authorization", .string("Bearer "))],
                [("authorization", .string("Bearer sk_" + String(repeating: "0", count: 64)))],
                [("authorization", .string("Bearer " + String(forged)))],
                [("authorization", .string("Bearer " + APIKeyFormat.generate(role: .primary, keyID: owner.keyID)))],
            ]
            for metadata in badHeaders {
                let error = await failure { try await fixture.client.getAccount(.init(), metadata: metadata) }
                // The status and message; the trailers carry the error detail with the request id.
                #expect(error?.code == .unauthenticated, "\(metadata)")
                #expect(error?.message == AuthInterceptor.unauthenticated.message, "\(metadata)")
            }
            let account = try await fixture.client.getAccount(.init(), metadata: owner.metadata)
            #expect(account.account?.id == owner.accountID)
            #expect(account.callerKey?.id == owner.keyID)
            #expect(account.callerKey?.isPrimary == true)
            #expect(account.account?.tierLimits?.dailyLimit == 10)
        }
    }

    @Test func legacyKeysKeepWorking() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let legacySecret = APIKeySecret.generate()
            let legacyID = UUID().uuidString.lowercased()
            _ = try await fixture.store.createAPIKey(
                APIKeyRecord(
                    id: legacyID, accountID: owner.accountID, parentKeyID: owner.keyID, secret: legacySecret,
                    createdAt: fixture.clock.date, createdBy: "system: import"),
                audit: AuditContext(performedBy: "system: import", at: fixture.clock.date))
            let caller = Caller(accountID: owner.accountID, keyID: legacyID, secret: legacySecret)
            let account = try await fixture.client.getAccount(.init(), metadata: caller.metadata)
            #expect(account.callerKey?.id == legacyID)
            #expect(account.callerKey?.keyPreview == APIKeySecret.preview(of: legacySecret))
        }
    }

    @Test func expiredRevokedAndRotatedKeysStopAtOnce() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let expiring = try await fixture.client.createAPIKey(
                .with {
                    $0.name = "short"
                    $0.expiresAt = Timestamps.make(fixture.clock.date.addingTimeInterval(60))
                }, metadata: owner.metadata)
            let short = Caller(accountID: owner.accountID, keyID: expiring.apiKey!.id, secret: expiring.secret)
            #expect(await status { try await fixture.client.getAccount(.init(), metadata: short.metadata) } == nil)
            fixture.clock.advance(61)
            #expect(
                await status { try await fixture.client.getAccount(.init(), metadata: short.metadata) }
                    == .unauthenticated)

            let revoked = try await fixture.secondaryKey(of: owner)
            _ = try await fixture.client.revokeAPIKey(.with { $0.keyId = revoked.keyID }, metadata: owner.metadata)
            #expect(
                await status { try await fixture.client.getAccount(.init(), metadata: revoked.metadata) }
                    == .unauthenticated)

            let rotated = try await fixture.secondaryKey(of: owner)
            let fresh = try await fixture.client.rotateAPIKey(
                .with { $0.keyId = rotated.keyID }, metadata: owner.metadata)
            #expect(
                await status { try await fixture.client.getAccount(.init(), metadata: rotated.metadata) }
                    == .unauthenticated)
            let renewed = Caller(accountID: owner.accountID, keyID: rotated.keyID, secret: fresh.secret)
            #expect(
                try await fixture.client.getAccount(.init(), metadata: renewed.metadata).callerKey?.id == rotated.keyID)
        }
    }

    @Test func aRotationGracePeriodKeepsTheOldSecretForAWhile() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let key = try await fixture.secondaryKey(of: owner)
            _ = try await fixture.client.rotateAPIKey(
                .with {
                    $0.keyId = key.keyID
                    $0.gracePeriodMs = 10_000
                }, metadata: owner.metadata)
            #expect(await status { try await fixture.client.getAccount(.init(), metadata: key.metadata) } == nil)
            fixture.clock.advance(11)
            #expect(
                await status { try await fixture.client.getAccount(.init(), metadata: key.metadata) }
                    == .unauthenticated)
        }
    }

    @Test func publicCallsNeedNoKey() async throws {
        try await withFixture { fixture in
            let joined = try await fixture.client.joinWaitlist(.with { $0.email = "ada@example.com" })
            #expect(joined.tier == .free)
            #expect(joined.apiKey?.isPrimary == true)
            #expect(joined.secret.hasPrefix("ebx_p_"))
            let ada = Caller(accountID: joined.apiKey!.accountId, keyID: joined.apiKey!.id, secret: joined.secret)
            #expect(
                try await fixture.client.getAccount(.init(), metadata: ada.metadata).account?.email == "ada@example.com"
            )
            #expect(
                await status { try await fixture.client.joinWaitlist(.with { $0.email = "ADA@example.com" }) }
                    == .alreadyExists)
            #expect(
                await status { try await fixture.client.joinWaitlist(.with { $0.email = "nope" }) } == .invalidArgument)

            let anonymous = try await fixture.client.requestQuota(.with { $0.email = "bob@example.com" })
            #expect(anonymous.quotaRequest?.apiKeyId == "")
            #expect(anonymous.quotaRequest?.status == .pending)
            // A valid key sent anyway is recorded; a bad one is ignored.
            let withKey = try await fixture.client.requestQuota(
                .with { $0.email = "ada@example.com" }, metadata: ada.metadata)
            #expect(withKey.quotaRequest?.apiKeyId == ada.keyID)
            #expect(withKey.quotaRequest?.currentTier == .free)
            let badKey = try await fixture.client.requestQuota(
                .with { $0.email = "ada@example.com" }, metadata: [("authorization", .string("Bearer nonsense"))])
            #expect(badKey.quotaRequest?.apiKeyId == "")
        }
    }

    @Test func anExpiredTierFallsBackToFree() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account(tier: .pro)
            _ = try await fixture.stack.administration.setTier(
                accountID: owner.accountID, tier: .pro, expiresAt: fixture.clock.date.addingTimeInterval(10))
            #expect(try await fixture.client.getUsage(.init(), metadata: owner.metadata).tier == .pro)
            fixture.clock.advance(11)
            #expect(try await fixture.client.getUsage(.init(), metadata: owner.metadata).tier == .free)
        }
    }

    @Test func streamingCallsEndWhenTheirKeyIsRevoked() async throws {
        try await withFixture(revalidateEvery: .milliseconds(20)) { fixture in
            let owner = try await fixture.account()
            let key = try await fixture.secondaryKey(of: owner)
            let interceptor = AuthInterceptor(
                authenticator: fixture.stack.authenticator, revalidateEvery: .milliseconds(20))
            let context = ServerContext(
                method: MethodDescriptor(
                    service: "execbox.v1.ProcessService", method: "Exec", kind: .bidirectionalStreaming),
                metadata: key.metadata, peer: "in-process")
            let (requests, _) = AsyncThrowingStream.makeStream(of: [UInt8].self)
            async let outcome = failure {
                try await interceptor.intercept(
                    requests: RPCAsyncSequence(requests), responses: RPCWriter { _ in }, context: context
                ) { _, _, _ in
                    #expect(Principal.current?.keyID == key.keyID)
                    try await Task.sleep(for: .seconds(30))
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            _ = try await fixture.client.revokeAPIKey(.with { $0.keyId = key.keyID }, metadata: owner.metadata)
            let started = ContinuousClock.now
            #expect(await outcome == AuthInterceptor.unauthenticated)
            // Revalidation (every 20 ms here) ended it, not the handler's 30 s sleep: a bound far
            // from both, since a loaded 2-core machine can delay the loop by seconds.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }
}
