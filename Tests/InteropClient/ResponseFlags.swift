import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import NIOCore

/// One call made below the generated client to see what that client hides: the compressed flag
/// of each response message. Sends one uncompressed request and accepts gzip and deflate.
enum ResponseFlags {
    static func read(
        _ connection: HTTP2ClientConnection,
        _ method: MethodDescriptor,
        request: [UInt8]
    ) async throws -> [Bool] {
        let stream = try await connection.openStream(
            method: "POST",
            path: method.path,
            headers: [
                "content-type": "application/grpc", "te": "trailers",
                "grpc-accept-encoding": CompressionAlgorithm.acceptEncoding,
            ]
        )
        let frame = GRPCFrameDecoder.frame(request, compression: nil)
        do {
            try await stream.writeBody(frame)
            try await stream.finish()
        } catch {
            // A server may answer and reset the stream (NO_ERROR) before reading all of the
            // request (RFC 9113 §8.1); the response below is what counts.
        }
        let head = try await stream.response()
        try expect(head[":status"] == "200", "\(method): HTTP status \(head[":status"] ?? "none")")
        if let status = head["grpc-status"] {
            throw InteropFailure("\(method): Trailers-Only response with grpc-status \(status)")
        }
        var body = try await stream.body.collect(upTo: 64 << 20)
        let status = stream.body.trailers?["grpc-status"]
        try expect(status == "0", "\(method): grpc-status \(status ?? "missing"), expected 0")
        var flags: [Bool] = []
        while body.readableBytes > 0 {
            guard let flag = body.readInteger(as: UInt8.self), let length = body.readInteger(as: UInt32.self),
                body.readSlice(length: Int(length)) != nil
            else { throw InteropFailure("\(method): the response ends inside a message") }
            flags.append(flag & 1 == 1)
        }
        return flags
    }
}
