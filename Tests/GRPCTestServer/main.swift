// execbox-grpc-testserver: the fixtures' FeatureService (ExecboxTesting.FixtureFeatureService)
// served as gRPC over ExecboxHTTP2, for the interop tests with Python grpcio. Prints
// `listening on PORT` once bound. With `--tls-cert FILE --tls-key FILE` it serves TLS only.
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import ExecboxTesting
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

var port = 0
var certificate: String?
var key: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": if let value = arguments.next(), let number = Int(value) { port = number }
    case "--tls-cert": certificate = arguments.next()
    case "--tls-key": key = arguments.next()
    default: break
    }
}

let grpc = GRPCServer(router: RPCRouter(services: [FixtureFeatureService()]))
let tls = certificate.map { TLSConfiguration.server(certificateChainFile: $0, privateKeyFile: key ?? $0) }
let server = try await HTTP2Server.bind(host: "127.0.0.1", port: port, tls: tls)
print("listening on \(server.localAddress.port!)")
fflush(nil)
try await server.run(handler: grpc.handler)
