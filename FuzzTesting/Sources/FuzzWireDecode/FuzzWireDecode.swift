import ExecboxAPI
import ExecboxFixtures
import ExecboxWire

/// The message types the first input byte chooses among: the fixtures cover every field kind,
/// the API types are what the server decodes from untrusted peers.
let types: [any WireMessage.Type] = [
    Execbox_Fixtures_V1_Scalars.self,
    Execbox_Fixtures_V1_Maps.self,
    Execbox_Fixtures_V1_Composite.self,
    Execbox_Fixtures_V1_Presence.self,
    CreateSessionRequest.self,
    ExecRequest.self,
    ExecResponse.self,
    ListSessionsResponse.self,
    WriteFileRequest.self,
]

/// Decodes the input; whatever decodes must re-encode to bytes that decode again to the same size.
func check<M: WireMessage>(_ type: M.Type, _ bytes: UnsafeRawBufferPointer) {
    guard let message = try? M(serializedBytes: bytes) else { return }
    let encoded = message.serializedBytes()
    precondition(encoded.count == message.serializedSize(), "size pass and write pass disagree")
    guard let again = try? M(serializedBytes: encoded) else {
        preconditionFailure("re-encoded \(M.protoMessageName) does not decode")
    }
    precondition(again.serializedSize() == encoded.count, "re-decoded \(M.protoMessageName) changed size")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let type = types[Int(data[0]) % types.count]
    check(type, UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
