import BenchEcho
import ExecboxHTTP2
import ExecboxWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Bidi streams kept busy for a fixed time: each stream writes framed messages as fast as flow
/// control lets it while reading the echoes, which are counted only inside the timed window.
struct BidiLoad: Sendable {
    static let path = "/execbox.bench.v1.EchoService/Bidi"

    var connections = 1
    var streamsPerConnection = 4
    var payloadBytes = 32 << 10
    var warmup: Duration = .seconds(1)
    var duration: Duration = .seconds(5)
    var stallLimit: Duration = .seconds(20)
    /// Messages handed to the connection in one write (fewer hops to its event loop; the bytes on
    /// the wire are the same).
    var messagesPerWrite = 1

    struct Count: Sendable {
        /// Inside the timed window.
        var messages = 0
        var bytes = 0
        /// The whole run, warm-up and drain included (to relate to a server's CPU time).
        var allBytes = 0
    }

    func run(host: String, port: Int) async throws -> Count {
        let message = Execbox_Bench_V1_EchoMessage.with {
            $0.payload = (0..<payloadBytes).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        }
        let encoded = message.serializedBytes()
        var buffer = ByteBuffer()
        for _ in 0..<max(1, messagesPerWrite) {
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(encoded.count))
            buffer.writeBytes(encoded)
        }
        let frame = buffer
        let messageBytes = encoded.count

        var open: [HTTP2ClientConnection] = []
        for _ in 0..<connections { open.append(try await HTTP2ClientConnection.connect(host: host, port: port)) }
        let start = ContinuousClock.now + warmup
        let end = start + duration
        let streams = connections * streamsPerConnection
        let total = try await withThrowingTaskGroup(of: Count?.self) { group in
            // A load that stops moving (a flow-control deadlock, a server that stops answering) ends
            // the process with an error instead of hanging the benchmark.
            group.addTask { [stallLimit] in
                try? await Task.sleep(until: end + stallLimit)
                guard !Task.isCancelled else { return nil }
                var message = "execbox-bench-rpc-load: stalled (no end \(stallLimit) after the timed window)\n"
                message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
                exit(3)
            }
            for connection in open {
                for _ in 0..<streamsPerConnection {
                    group.addTask {
                        try await Self.drive(
                            connection, frame: frame, messageBytes: messageBytes, from: start, until: end)
                    }
                }
            }
            var total = Count()
            var finished = 0
            while finished < streams, let count = try await group.next() {
                guard let count else { continue }
                total.messages += count.messages
                total.bytes += count.bytes
                total.allBytes += count.allBytes
                finished += 1
            }
            group.cancelAll()
            return total
        }
        for connection in open { try? await connection.close() }
        return total
    }

    /// One Bidi call: a writer until `end`, then the rest of the echoes and an OK status.
    private static func drive(
        _ connection: HTTP2ClientConnection,
        frame: ByteBuffer,
        messageBytes: Int,
        from start: ContinuousClock.Instant,
        until end: ContinuousClock.Instant
    ) async throws -> Count {
        let stream = try await connection.openStream(
            method: "POST",
            path: path,
            headers: ["content-type": "application/grpc", "te": "trailers"]
        )
        return try await withThrowingTaskGroup(of: Count?.self) { group in
            group.addTask {
                while ContinuousClock.now < end { try await stream.writeBody(frame) }
                try await stream.finish()
                return nil
            }
            group.addTask {
                let head = try await stream.response()
                guard head[":status"] == "200" else { throw LoadError("HTTP status \(head[":status"] ?? "none")") }
                var counter = GRPCMessageCounter()
                var count = Count()
                for try await chunk in stream.body {
                    let completed = try counter.consume(chunk, expectedLength: messageBytes)
                    guard completed > 0 else { continue }
                    count.allBytes += completed * messageBytes
                    let now = ContinuousClock.now
                    if now >= start && now < end {
                        count.messages += completed
                        count.bytes += completed * messageBytes
                    }
                }
                let status = stream.body.trailers?["grpc-status"] ?? head["grpc-status"]
                guard status == "0" else { throw LoadError("grpc-status \(status ?? "missing")") }
                return count
            }
            var result = Count()
            for try await count in group { if let count { result = count } }
            return result
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
