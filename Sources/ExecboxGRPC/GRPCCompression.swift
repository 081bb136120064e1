import CZlib
import ExecboxRPC

/// gzip and deflate (the zlib format, as gRPC means it) for message bodies, with zlib.
/// Decompression is bounded by the *decompressed* size, so a small bomb cannot exhaust memory.
enum GRPCCompression {
    static func compress(_ bytes: [UInt8], with algorithm: CompressionAlgorithm) -> [UInt8] {
        var stream = z_stream()
        guard execbox_deflate_init(&stream, algorithm == .gzip ? 1 : 0) == Z_OK else {
            fatalError("zlib: deflateInit2 failed (out of memory)")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let produced = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib: deflate into a deflateBound buffer did not finish")
                return out.count - Int(stream.avail_out)
            }
        }
        output.removeLast(output.count - produced)
        return output
    }

    /// The decompressed bytes; RESOURCE_EXHAUSTED past `limit` bytes, INTERNAL for corrupt input
    /// (gRPC's status-code table).
    static func decompress(
        _ bytes: [UInt8],
        with algorithm: CompressionAlgorithm,
        limit: Int
    ) throws(RPCError) -> [UInt8] {
        var stream = z_stream()
        guard execbox_inflate_init(&stream, algorithm == .gzip ? 1 : 0) == Z_OK else {
            throw RPCError(code: .resourceExhausted, message: "zlib could not start decompressing")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(max(bytes.count * 4, 4096), 1 << 20, limit + 1))
        var status = Z_OK
        bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[..<produced])
            } while status == Z_OK && output.count <= limit && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard output.count <= limit else {
            throw RPCError(
                code: .resourceExhausted,
                message: "decompressed message exceeds the \(limit)-byte limit"
            )
        }
        guard status == Z_STREAM_END, stream.avail_in == 0 else {
            throw RPCError(code: .internal, message: "could not decompress the \(algorithm.rawValue) message")
        }
        return output
    }
}
