import ExecboxAPI
import ExecboxFixtures
import ExecboxWire

let types: [any WireMessage.Type] = [
    Execbox_Fixtures_V1_Scalars.self,
    Execbox_Fixtures_V1_Maps.self,
    Execbox_Fixtures_V1_Composite.self,
    Execbox_Fixtures_V1_Presence.self,
    CreateSessionRequest.self,
    APIKey.self,
]

/// Decodes JSON; whatever decodes must write JSON that decodes again, and the same binary.
func check<M: WireMessage>(_ type: M.Type, _ bytes: UnsafeRawBufferPointer) {
    guard let message = try? M(jsonUTF8Bytes: bytes) else { return }
    // Parsing range-checks Timestamps and Durations, so what parsed always has a JSON form.
    guard let json = try? message.jsonUTF8Bytes() else {
        preconditionFailure("parsed \(M.protoMessageName) has no JSON form")
    }
    guard let again = try? M(jsonUTF8Bytes: json) else {
        preconditionFailure(
            "JSON written for \(M.protoMessageName) does not parse: \(String(decoding: json, as: UTF8.self))")
    }
    precondition(again.serializedSize() == message.serializedSize(), "JSON round trip changed \(M.protoMessageName)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let type = types[Int(data[0]) % types.count]
    check(type, UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
