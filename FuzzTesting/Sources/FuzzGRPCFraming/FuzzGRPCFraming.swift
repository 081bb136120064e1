import ExecboxGRPC
import ExecboxRPC
import NIOCore

/// The gRPC length-prefixed message reader (TESTPLAN 101). The first byte picks the call's
/// encoding and how the rest is split into DATA-frame-sized chunks; the properties: no crash, no
/// message over the limit, and a declared length over the limit is always RESOURCE_EXHAUSTED.
let limit = 1 << 16
let encodings: [CompressionAlgorithm?] = [nil, .gzip, .deflate]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    var decoder = GRPCFrameDecoder(maxMessageBytes: limit, encoding: encodings[Int(control & 3) % 3])
    let chunkSize = Int(control >> 2) + 1
    var offset = 0
    while offset < input.count {
        let end = min(offset + chunkSize, input.count)
        var chunk = ByteBuffer()
        chunk.writeBytes(UnsafeBufferPointer(rebasing: input[offset..<end]))
        decoder.append(chunk)
        offset = end
        do {
            while let message = try decoder.next() {
                precondition(message.bytes.count <= limit, "a message over the limit was returned")
            }
        } catch {
            return 0
        }
    }
    return 0
}
