// execbox-grpc-testserver: the fixtures' FeatureService served as gRPC over ExecboxHTTP2, for the
// interop tests with Python grpcio. Prints `listening on PORT` once bound.
//
//   Unary         id + 1, name = the `x-greeting` metadata; name "fail" → FAILED_PRECONDITION,
//                 name "sleep" → sleeps 10 s (for deadlines), name "crash" → a non-RPC error
//   ClientStream  the sum of the ids
//   ServerStream  ids 0..<request.id
//   Bidi          each id doubled, as they arrive
//   Ping          Empty back
import ExecboxFixtures
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

typealias Nested = Execbox_Fixtures_V1_Nested

struct Crash: Error {}

struct FeatureService: Execbox_Fixtures_V1_FeatureServiceProtocol {
    func unary(request: Nested, context: ServerContext) async throws -> Nested {
        switch request.name {
        case "fail": throw RPCError(code: .failedPrecondition, message: "asked to fail: fälsch ✓ 100%")
        case "sleep": try await Task.sleep(for: .seconds(10))
        case "crash": throw Crash()
        default: break
        }
        return Nested.with {
            $0.id = request.id + 1
            $0.name = context.metadata.first("x-greeting") ?? ""
        }
    }

    func clientStream(requests: RPCAsyncSequence<Nested>, context: ServerContext) async throws -> Nested {
        var sum: Int32 = 0
        for try await request in requests { sum &+= request.id }
        return Nested.with { $0.id = sum }
    }

    func serverStream(request: Nested, responses: RPCWriter<Nested>, context: ServerContext) async throws {
        for i in 0..<request.id { try await responses.write(Nested.with { $0.id = i }) }
    }

    func bidi(requests: RPCAsyncSequence<Nested>, responses: RPCWriter<Nested>, context: ServerContext) async throws {
        for try await request in requests { try await responses.write(Nested.with { $0.id = request.id &* 2 }) }
    }

    func ping(request: Google_Protobuf_Empty, context: ServerContext) async throws -> Google_Protobuf_Empty {
        request
    }
}

var port = 0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--port", let value = arguments.next(), let number = Int(value) { port = number }
}

let grpc = GRPCServer(router: RPCRouter(services: [FeatureService()]))
let server = try await HTTP2Server.bind(host: "127.0.0.1", port: port)
print("listening on \(server.localAddress.port ?? 0)")
fflush(nil)
try await server.run(handler: grpc.handler)
