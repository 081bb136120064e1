import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// Create, list, get, update, rotate and revoke keys; roles; the audit trail.
@Suite struct KeyManagementTests {
    @Test func theKeyLifecycleIsAudited() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            fixture.clock.advance(1)
            let created = try await fixture.client.createAPIKey(
                .with {
                    $0.name = "ci"
                    $0.description = "the CI runner"
                    $0.tags = ["env:ci", "team.a"]
                    $0.customDailyLimit = 3
                }, metadata: owner.metadata)
            let key = try #require(created.apiKey)
            #expect(created.secret.hasPrefix("ebx_s_"))
            #expect(APIKeyFormat.parse(created.secret) == .execbox(role: .secondary, keyID: key.id))
            #expect(!key.isPrimary)
            #expect(key.parentKeyId == owner.keyID)
            #expect(key.accountId == owner.accountID)
            #expect(key.keyPreview == String(created.secret.prefix(7)) + "..." + String(created.secret.suffix(4)))
            #expect(key.customDailyLimit == 3)
            #expect(key.rateLimitRps == 10_000)

            let listed = try await fixture.client.listAPIKeys(.init(), metadata: owner.metadata)
            #expect(listed.keys.map(\.id) == [owner.keyID, key.id])
            #expect(listed.page?.nextPageToken == "")
            let got = try await fixture.client.getAPIKey(
                .with { $0.keyId = key.id.uppercased() }, metadata: owner.metadata)
            #expect(got.apiKey?.name == "ci")

            let updated = try await fixture.client.updateAPIKey(
                .with {
                    $0.keyId = key.id
                    $0.name = "ci-2"
                    $0.customDailyLimit = 0
                }, metadata: owner.metadata)
            #expect(updated.apiKey?.name == "ci-2")
            #expect(updated.apiKey?.customDailyLimit == nil)
            #expect(updated.apiKey?.description == "the CI runner")

            let rotated = try await fixture.client.rotateAPIKey(.with { $0.keyId = key.id }, metadata: owner.metadata)
            #expect(rotated.secret != created.secret)
            #expect(rotated.apiKey?.id == key.id)
            let revoked = try await fixture.client.revokeAPIKey(
                .with {
                    $0.keyId = key.id
                    $0.reason = "leaked"
                }, metadata: owner.metadata)
            #expect(revoked.apiKey?.isActive == false)
            #expect(revoked.apiKey?.revokeReason == "leaked")
            // Again: no change, no error.
            _ = try await fixture.client.revokeAPIKey(.with { $0.keyId = key.id }, metadata: owner.metadata)
            let active = try await fixture.client.listAPIKeys(.with { $0.activeOnly = true }, metadata: owner.metadata)
            #expect(active.keys.map(\.id) == [owner.keyID])

            let log = try await fixture.client.listAuditLog(
                .with { $0.targetId = key.id }, metadata: owner.metadata)
            #expect(log.events.map(\.action) == [.apiKeyRevoked, .apiKeyRotated, .apiKeyUpdated, .apiKeyCreated])
            #expect(log.events.allSatisfy { $0.performedBy == owner.keyID && !$0.requestId.isEmpty })
            #expect(log.events[0].details["reason"] == "leaked")
            #expect(
                !log.events.contains { event in event.details.values.contains { $0.contains(rotated.secret) } })
        }
    }

    @Test func secondaryKeysCannotTouchThePrimaryKey() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let second = try await fixture.secondaryKey(of: owner)
            let primary = owner.keyID
            #expect(
                await status {
                    try await fixture.client.revokeAPIKey(.with { $0.keyId = primary }, metadata: second.metadata)
                }
                    == .failedPrecondition)
            #expect(
                await status {
                    try await fixture.client.rotateAPIKey(.with { $0.keyId = primary }, metadata: second.metadata)
                }
                    == .permissionDenied)
            #expect(
                await status {
                    try await fixture.client.updateAPIKey(
                        .with {
                            $0.keyId = primary
                            $0.name = "mine now"
                        }, metadata: second.metadata)
                } == .permissionDenied)
            // The owner still holds the account; the primary key can rotate itself and manage others.
            #expect(try await fixture.client.getAccount(.init(), metadata: owner.metadata).callerKey?.isPrimary == true)
            let third = try await fixture.secondaryKey(of: second)
            _ = try await fixture.client.rotateAPIKey(.with { $0.keyId = third.keyID }, metadata: second.metadata)
            let self_ = try await fixture.client.rotateAPIKey(.with { $0.keyId = primary }, metadata: owner.metadata)
            #expect(self_.secret.hasPrefix("ebx_p_"))
            let renewed = Caller(accountID: owner.accountID, keyID: primary, secret: self_.secret)
            #expect(
                await status {
                    try await fixture.client.revokeAPIKey(.with { $0.keyId = primary }, metadata: renewed.metadata)
                } == .failedPrecondition)
            // A key may revoke itself.
            _ = try await fixture.client.revokeAPIKey(.with { $0.keyId = second.keyID }, metadata: second.metadata)
            #expect(
                await status { try await fixture.client.getAccount(.init(), metadata: second.metadata) }
                    == .unauthenticated)
        }
    }

    @Test func badRequestsAreInvalidArguments() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let key = try await fixture.secondaryKey(of: owner)
            let past = Timestamps.make(fixture.clock.date.addingTimeInterval(-1))
            let creates: [CreateAPIKeyRequest] = [
                .init(),
                .with { $0.name = String(repeating: "n", count: 101) },
                .with {
                    $0.name = "x"
                    $0.description = String(repeating: "d", count: 501)
                },
                .with {
                    $0.name = "x"
                    $0.expiresAt = past
                },
                .with {
                    $0.name = "x"
                    $0.customDailyLimit = 0
                },
                .with {
                    $0.name = "x"
                    $0.customDailyLimit = 11  // free tier: 10 a day
                },
                .with {
                    $0.name = "x"
                    $0.tags = ["a b"]
                },
                .with {
                    $0.name = "x"
                    $0.tags = ["a", "a"]
                },
            ]
            for request in creates {
                #expect(
                    await status { try await fixture.client.createAPIKey(request, metadata: owner.metadata) }
                        == .invalidArgument, "\(request)")
            }
            let updates: [UpdateAPIKeyRequest] = [
                .with { $0.keyId = key.keyID },
                .with {
                    $0.keyId = "not-a-uuid"
                    $0.name = "x"
                },
                .with {
                    $0.keyId = key.keyID
                    $0.expiresAt = Timestamps.make(fixture.clock.date.addingTimeInterval(60))
                    $0.clearExpiresAt = true
                },
                .with {
                    $0.keyId = key.keyID
                    $0.expiresAt = past
                },
            ]
            for request in updates {
                #expect(
                    await status { try await fixture.client.updateAPIKey(request, metadata: owner.metadata) }
                        == .invalidArgument, "\(request)")
            }
            let legacyText = await failure {
                try await fixture.client.getAPIKey(.with { $0.keyId = "42" }, metadata: owner.metadata)
            }
            #expect(legacyText?.message == "invalid API key ID format")
            #expect(
                await status {
                    try await fixture.client.rotateAPIKey(
                        .with {
                            $0.keyId = key.keyID
                            $0.gracePeriodMs = 86_400_001
                        }, metadata: owner.metadata)
                } == .invalidArgument)
            _ = try await fixture.client.revokeAPIKey(.with { $0.keyId = key.keyID }, metadata: owner.metadata)
            #expect(
                await status {
                    try await fixture.client.updateAPIKey(
                        .with {
                            $0.keyId = key.keyID
                            $0.name = "revived?"
                        }, metadata: owner.metadata)
                } == .failedPrecondition)
        }
    }

    @Test func listingPagesWithBoundTokens() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            for index in 0..<4 {
                fixture.clock.advance(1)
                _ = try await fixture.secondaryKey(of: owner, name: "k\(index)")
            }
            var names: [String] = []
            var token = ""
            repeat {
                let page = try await fixture.client.listAPIKeys(
                    .with {
                        $0.page = .with {
                            $0.pageSize = 2; $0.pageToken = token
                        }
                    }, metadata: owner.metadata)
                names += page.keys.map(\.name)
                token = page.page?.nextPageToken ?? ""
            } while !token.isEmpty
            #expect(names == ["primary", "k0", "k1", "k2", "k3"])

            let first = try await fixture.client.listAPIKeys(
                .with { $0.page = .with { $0.pageSize = 2 } }, metadata: owner.metadata)
            let next = try #require(first.page?.nextPageToken)
            // Other filters, garbage, or a day later: refused.
            for request in [
                ListAPIKeysRequest.with {
                    $0.activeOnly = true
                    $0.page = .with { $0.pageToken = next }
                },
                .with { $0.page = .with { $0.pageToken = "garbage" } },
            ] {
                #expect(
                    await status { try await fixture.client.listAPIKeys(request, metadata: owner.metadata) }
                        == .invalidArgument)
            }
            let other = try await fixture.account()
            #expect(
                await status {
                    try await fixture.client.listAPIKeys(
                        .with { $0.page = .with { $0.pageToken = next } }, metadata: other.metadata)
                } == .invalidArgument)
            fixture.clock.advance(86_401)
            #expect(
                await status {
                    try await fixture.client.listAPIKeys(
                        .with { $0.page = .with { $0.pageToken = next } }, metadata: owner.metadata)
                } == .invalidArgument)
        }
    }

    @Test func alertsAndWebhooksAreNotServedYet() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            #expect(
                await status { try await fixture.client.listAlertRules(.init(), metadata: owner.metadata) }
                    == .unimplemented)
            #expect(
                await status { try await fixture.client.createWebhook(.init(), metadata: owner.metadata) }
                    == .unimplemented)
            // Still behind authentication.
            #expect(await status { try await fixture.client.listWebhooks(.init()) } == .unauthenticated)
        }
    }
}
