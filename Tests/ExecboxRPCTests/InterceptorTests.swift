import ExecboxFixtures
import ExecboxRPC
import ExecboxTesting
import ExecboxWire
import Synchronization
import Testing

/// Rejects calls without `x-api-key: secret`, as an authentication interceptor would.
struct RequireKey: ServerInterceptor {
    func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws {
        guard context.metadata.first("x-api-key") == "secret" else {
            throw RPCError(code: .unauthenticated, message: "missing or wrong x-api-key")
        }
        try await next(requests, responses, context)
    }
}

final class Log: Sendable {
    private let lines = Mutex<[String]>([])

    func withLock<R>(_ body: (inout [String]) -> R) -> R { lines.withLock { body(&$0) } }
}

/// Records the order interceptors run in, and each call's outcome.
final class Recorder: ServerInterceptor, ClientInterceptor {
    let name: String
    let log: Log

    init(_ name: String, log: Log = Log()) {
        self.name = name
        self.log = log
    }

    var entries: [String] { log.withLock { $0 } }

    func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws {
        log.withLock { $0.append("\(name) > \(context.method.method)") }
        do {
            try await next(requests, responses, context)
            log.withLock { $0.append("\(name) < ok") }
        } catch let error as RPCError {
            log.withLock { $0.append("\(name) < \(error.code)") }
            throw error
        }
    }

    func intercept<Result: Sendable>(
        method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        next: (Metadata, CallOptions) async throws -> Result
    ) async throws -> Result {
        var metadata = metadata
        metadata.add("x-api-key", "secret")
        log.withLock { $0.append("client \(name) > \(method.method)") }
        return try await next(metadata, options)
    }
}

@Suite struct InterceptorTests {
    @Test func serverInterceptorsRunInOrderAndCanReject() async throws {
        let recorder = Recorder("outer")
        let router = RPCRouter(services: [FixtureFeatureService()], interceptors: [recorder, RequireKey()])
        let client = Execbox_Fixtures_V1_FeatureServiceClient(transport: InProcessTransport(router: router))
        let error = await #expect(throws: RPCError.self) { try await client.unary(Nested()) }
        #expect(error?.code == .unauthenticated)
        var metadata = Metadata()
        metadata.add("x-api-key", "secret")
        #expect(try await client.unary(Nested.with { $0.id = 1 }, metadata: metadata).id == 2)
        #expect(recorder.entries == ["outer > Unary", "outer < UNAUTHENTICATED", "outer > Unary", "outer < ok"])
    }

    @Test func interceptorsAddedLaterWrapEveryRoute() async throws {
        var router = RPCRouter(services: [FixtureFeatureService()])
        router.intercept(with: [RequireKey()])
        let client = Execbox_Fixtures_V1_FeatureServiceClient(transport: InProcessTransport(router: router))
        let error = await #expect(throws: RPCError.self) {
            try await client.serverStream(Nested.with { $0.id = 3 }) { responses in
                for try await _ in responses {}
            }
        }
        #expect(error?.code == .unauthenticated)
    }

    @Test func clientInterceptorsChangeMetadataInOrder() async throws {
        let log = Log()
        let router = RPCRouter(services: [FixtureFeatureService()], interceptors: [RequireKey()])
        let transport = InterceptedTransport(
            InProcessTransport(router: router),
            interceptors: [Recorder("a", log: log), Recorder("b", log: log)]
        )
        let client = Execbox_Fixtures_V1_FeatureServiceClient(transport: transport)
        #expect(try await client.unary(Nested.with { $0.id = 9 }).id == 10)
        #expect(log.withLock { $0 } == ["client a > Unary", "client b > Unary"])
    }
}
