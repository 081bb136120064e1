import BenchEcho
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import ExecboxWire

/// One Unary and one Bidi call through the generated client, so that a benchmark run starts only
/// against a server that really echoes with status OK.
enum EchoCheck {
    static func run(host: String, port: Int) async throws {
        let transport = try await GRPCClientTransport.connect(host: host, port: port)
        let client = Execbox_Bench_V1_EchoServiceClient(transport: transport)
        let request = Execbox_Bench_V1_EchoMessage.with { $0.payload = Array("bench-rpc check".utf8) }
        let reply = try await client.unary(request)
        guard reply == request else { throw LoadError("Unary answered \(reply.payload.count) different bytes") }

        let sent = [1, 32 << 10, 64 << 10].map { size in
            Execbox_Bench_V1_EchoMessage.with { $0.payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) } }
        }
        let echoed = try await client.bidi(
            requests: { writer in for message in sent { try await writer.write(message) } },
            onResponse: { responses in
                var received: [Execbox_Bench_V1_EchoMessage] = []
                for try await message in responses { received.append(message) }
                return received
            }
        )
        guard echoed == sent else {
            throw LoadError("Bidi echoed \(echoed.count) messages, not the \(sent.count) sent")
        }
        try await transport.connection.close()
    }
}
