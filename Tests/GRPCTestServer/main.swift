// execbox-grpc-testserver: the fixtures' FeatureService (ExecboxTesting.FixtureFeatureService)
// served as gRPC over ExecboxHTTP2, for the interop tests with Python grpcio. Prints
// `listening on PORT` once bound.
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import ExecboxTesting
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

var port = 0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--port", let value = arguments.next(), let number = Int(value) { port = number }
}

let grpc = GRPCServer(router: RPCRouter(services: [FixtureFeatureService()]))
let server = try await HTTP2Server.bind(host: "127.0.0.1", port: port)
print("listening on \(server.localAddress.port!)")
fflush(nil)
try await server.run(handler: grpc.handler)
