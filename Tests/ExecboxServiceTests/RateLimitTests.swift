import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxTesting
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// Rate limits through the whole chain: per key, per account, per client address on public calls;
/// the refusal carries `retry-after-ms` and an ErrorDetail.
@Suite struct RateLimitTests {
    /// A raw GetAccount call that keeps the response metadata.
    func rawGetAccount(_ fixture: ServiceFixture, _ metadata: Metadata, peer: String = "in-process") async throws
        -> (error: RPCError?, initial: Metadata, trailing: Metadata)
    {
        let transport = InProcessTransport(router: fixture.stack.router())
        return try await transport.call(AccountServiceMethods.getAccount, metadata: metadata, options: CallOptions()) {
            outbound, inbound in
            try await outbound.messages.write(GetAccountRequest().serializedBytes())
            try await outbound.finish()
            var error: RPCError?
            do {
                for try await _ in inbound.messages {}
            } catch let failure as RPCError {
                error = failure
            }
            return (error, try await inbound.initialMetadata(), inbound.trailingMetadata)
        }
    }

    @Test func aKeyOverItsRateIsRefusedWithTheRetryDelay() async throws {
        try await withFixture(tiers: .defaults) { fixture in
            let owner = try await fixture.account()
            for _ in 0..<10 {
                #expect(await status { try await fixture.client.getAccount(.init(), metadata: owner.metadata) } == nil)
            }
            let (error, initial, trailing) = try await rawGetAccount(fixture, owner.metadata)
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message.contains("per key") == true)
            #expect(trailing.first("retry-after-ms") == "100")
            #expect(initial.first("x-request-id")?.count == 16)
            let detailBytes = trailing.compactMap { entry -> [UInt8]? in
                guard entry.key == ErrorDetails.metadataKey, case .binary(let bytes) = entry.value else { return nil }
                return bytes
            }
            #expect(detailBytes.count == 1)
            let detail = try ErrorDetail(serializedBytes: try #require(detailBytes.first))
            #expect(detail.code == .rateLimitExceeded)
            #expect(detail.retryAfterMs == 100)
            #expect(detail.rateLimit?.limit == 10)
            #expect(detail.requestId == initial.first("x-request-id"))

            fixture.clock.advance(0.1)
            #expect(await status { try await fixture.client.getAccount(.init(), metadata: owner.metadata) } == nil)
            // Health-like public calls of other services and other accounts are not affected.
            let other = try await fixture.account()
            #expect(await status { try await fixture.client.getAccount(.init(), metadata: other.metadata) } == nil)
        }
    }

    @Test func theAccountBucketLimitsAllItsKeysTogether() async throws {
        try await withFixture(tiers: .defaults) { fixture in
            let owner = try await fixture.account()
            fixture.clock.advance(10)
            let second = try await fixture.secondaryKey(of: owner)
            fixture.clock.advance(10)
            // Free: 10 per key, 20 per account. Two keys, 10 calls each: all admitted; a third key is refused.
            for caller in [owner, second] {
                for _ in 0..<10 {
                    #expect(
                        await status { try await fixture.client.getAccount(.init(), metadata: caller.metadata) } == nil)
                }
            }
            let error = await failure {
                try await fixture.client.createAPIKey(.with { $0.name = "third" }, metadata: owner.metadata)
            }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message.contains("per key") == true || error?.message.contains("per account") == true)
        }
    }

    @Test func publicCallsAreLimitedPerClientAddress() async throws {
        try await withFixture(tiers: .defaults) { fixture in
            for index in 0..<5 {
                #expect(
                    await status { try await fixture.client.requestQuota(.with { $0.email = "u\(index)@example.com" }) }
                        == nil)
            }
            let error = await failure { try await fixture.client.joinWaitlist(.with { $0.email = "late@example.com" }) }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message.contains("client address") == true)
            #expect(error?.message.contains("retry in 5000 ms") == true)
            fixture.clock.advance(5)
            #expect(
                await status { try await fixture.client.joinWaitlist(.with { $0.email = "late@example.com" }) } == nil)
        }
    }

    @Test func theUnlimitedTierIsNotLimited() async throws {
        try await withFixture(tiers: .defaults) { fixture in
            let admin = try await fixture.account(tier: TierTable.unlimitedTier)
            for _ in 0..<200 {
                #expect(await status { try await fixture.client.getLimits(.init(), metadata: admin.metadata) } == nil)
            }
        }
    }
}
