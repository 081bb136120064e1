import ExecboxGateway
import Foundation
import NIOCore

/// The REST gateway's input parsers (STYLE.md §12): legacy WebSocket frames, JSON request bodies
/// with their schema checks, query strings and path matching. Properties: no crash; a frame that
/// decodes encodes back to the same bytes (the error text is cut at 1024 bytes on both sides);
/// body refusals are client errors (4xx), never a 500.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let frame = try? LegacyFrame.decode(ByteBuffer(bytes: bytes)) {
        let encoded = Array(frame.encode().readableBytesView)
        if case .error(let text) = frame {
            precondition(text.utf8.count <= LegacyFrame.maxErrorBytes, "an error text over 1024 bytes decoded")
        } else {
            precondition(encoded == bytes, "frame \(frame) does not encode back to its input")
        }
    }
    // The first line is a request target, the rest a JSON body.
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
    let target = "/" + String(decoding: bytes[..<newline], as: UTF8.self)
    let body = Data(bytes[min(newline + 1, bytes.count)...])
    for status in RESTInput.statuses(body: body, target: target) {
        precondition((400...499).contains(status), "a client input gave \(status)")
    }
    return 0
}
