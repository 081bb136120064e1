import ExecboxAPI
import ExecboxRPC
import ExecboxStandardServices
import ExecboxTesting
import ExecboxWire
import Testing

typealias HealthRequest = Grpc_Health_V1_HealthCheckRequest
typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

/// Health through the generated client and the in-process transport.
@Suite struct HealthServiceTests {
    let health = HealthService(statuses: ["": .serving, "execbox.v1.SessionService": .notServing])
    var client: Grpc_Health_V1_HealthClient<InProcessTransport> {
        Grpc_Health_V1_HealthClient(transport: InProcessTransport(services: [health]))
    }

    @Test func checkAnswersTheTable() async throws {
        #expect(try await client.check(.with { $0.service = "" }).status == .serving)
        #expect(try await client.check(.with { $0.service = "execbox.v1.SessionService" }).status == .notServing)
        health.setStatus(.serving, for: "execbox.v1.SessionService")
        #expect(try await client.check(.with { $0.service = "execbox.v1.SessionService" }).status == .serving)
    }

    @Test func checkOfAnUnknownServiceIsNotFound() async throws {
        let error = await #expect(throws: RPCError.self) {
            try await client.check(.with { $0.service = "no.such.Service" })
        }
        #expect(error?.code == .notFound)
    }

    @Test func listAnswersEveryService() async throws {
        let response = try await client.list(.init())
        #expect(response.statuses.mapValues(\.status) == ["": .serving, "execbox.v1.SessionService": .notServing])
    }

    @Test func listRefusesMoreThanTheLimit() async throws {
        for i in 0..<HealthService.listLimit { health.setStatus(.serving, for: "s\(i)") }
        let error = await #expect(throws: RPCError.self) { try await client.list(.init()) }
        #expect(error?.code == .resourceExhausted)
    }

    @Test func watchStreamsEveryChangeUntilTheClientCancels() async throws {
        let (seen, seenSink) = AsyncStream.makeStream(of: ServingStatus.self)
        let health = health
        let client = client
        let watch = Task {
            try await client.watch(.with { $0.service = "" }) { responses in
                for try await response in responses { seenSink.yield(response.status) }
            }
        }
        var iterator = seen.makeAsyncIterator()
        #expect(await iterator.next() == .serving)
        health.setStatus(.notServing, for: "")
        #expect(await iterator.next() == .notServing)
        health.setStatus(.notServing, for: "")  // no change, no message
        health.setStatus(.serving, for: "")
        #expect(await iterator.next() == .serving)
        watch.cancel()
        _ = await watch.result
    }

    @Test func watchOfAnUnknownServiceStaysOpen() async throws {
        let (seen, seenSink) = AsyncStream.makeStream(of: ServingStatus.self)
        let health = health
        let client = client
        let watch = Task {
            try await client.watch(.with { $0.service = "later.Service" }) { responses in
                for try await response in responses { seenSink.yield(response.status) }
            }
        }
        var iterator = seen.makeAsyncIterator()
        #expect(await iterator.next() == .serviceUnknown)
        health.setStatus(.serving, for: "later.Service")
        #expect(await iterator.next() == .serving)
        health.removeStatus(for: "later.Service")
        #expect(await iterator.next() == .serviceUnknown)
        watch.cancel()
        _ = await watch.result
    }

    @Test func shutdownSendsNotServingThenEndsTheStreamUnavailable() async throws {
        let (seen, seenSink) = AsyncStream.makeStream(of: ServingStatus.self)
        let client = client
        let watch = Task {
            try await client.watch(.with { $0.service = "" }) { responses in
                for try await response in responses { seenSink.yield(response.status) }
            }
        }
        var iterator = seen.makeAsyncIterator()
        #expect(await iterator.next() == .serving)
        health.shutdown()
        #expect(await iterator.next() == .notServing)
        let error = await #expect(throws: RPCError.self) { try await watch.value }
        #expect(error?.code == .unavailable)

        health.setStatus(.serving, for: "")
        #expect(try await client.check(.with { $0.service = "" }).status == .notServing)
        // A watch started after shutdown gets the last status and ends at once.
        let late = await #expect(throws: RPCError.self) {
            try await client.watch(.with { $0.service = "" }) { responses in
                for try await response in responses { #expect(response.status == .notServing) }
            }
        }
        #expect(late?.code == .unavailable)
    }
}
