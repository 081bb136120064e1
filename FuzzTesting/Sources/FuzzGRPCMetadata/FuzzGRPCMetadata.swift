import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC

/// The gRPC header parsers (TESTPLAN 103): `grpc-timeout`, `grpc-accept-encoding`, `-bin`
/// metadata, and `grpc-message` percent-decoding. Properties: no crash; a parsed timeout is not
/// negative; percent-encoding round-trips any text; metadata never keeps a reserved name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let timeout = GRPCStatusEncoding.parseTimeout(text) {
        precondition(timeout >= .zero, "negative timeout from \(text)")
    }
    _ = GRPCServer.acceptedEncodings(text)
    _ = GRPCStatusEncoding.percentDecode(text)
    let encoded = GRPCStatusEncoding.percentEncode(text)
    precondition(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }, "grpc-message not printable ASCII")
    precondition(GRPCStatusEncoding.percentDecode(encoded) == text, "percent-encoding does not round-trip")
    // Header fields split from the input: name and value alternate on NUL bytes.
    let parts = text.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
    var headers = HTTP2Headers()
    var index = 0
    while index + 1 < parts.count {
        headers.add(parts[index].lowercased(), parts[index + 1])
        index += 2
    }
    let metadata = GRPCServer.metadata(headers)
    for entry in metadata {
        precondition(!GRPCServer.isReserved(entry.key), "reserved header \(entry.key) became metadata")
        if case .binary = entry.value { precondition(entry.key.hasSuffix("-bin"), "binary value under \(entry.key)") }
    }
    return 0
}
