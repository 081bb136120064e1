import ExecboxRPC
import ExecboxStorage
import Foundation
import Testing

@testable import ExecboxService

/// The key string format: shape, checksum, the embedded id and role, legacy keys.
@Suite struct APIKeyFormatTests {
    let keyID = "0f8e2b8c-4b9d-4a53-9a55-2f1c3e0d7a61"

    @Test func generatedKeysHaveTheDocumentedShape() throws {
        let key = APIKeyFormat.generate(role: .secondary, keyID: keyID.uppercased())
        #expect(key.count == APIKeyFormat.length)
        #expect(key.count == 85)
        #expect(key.hasPrefix("ebx_s_0f8e2b8c4b9d4a539a552f1c3e0d7a61_"))
        #expect(APIKeyFormat.parse(key) == .execbox(role: .secondary, keyID: keyID))
        let primary = APIKeyFormat.generate(role: .primary, keyID: keyID)
        #expect(primary.hasPrefix("ebx_p_"))
        #expect(APIKeyFormat.parse(primary) == .execbox(role: .primary, keyID: keyID))
        #expect(key.dropFirst(39).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
    }

    @Test func secretsDiffer() {
        let keys = Set((0..<200).map { _ in APIKeyFormat.generate(role: .secondary, keyID: keyID) })
        #expect(keys.count == 200)
    }

    @Test func theChecksumCatchesEveryOneCharacterChange() throws {
        let key = Array(APIKeyFormat.generate(role: .secondary, keyID: keyID))
        for index in 39..<key.count {
            var changed = key
            changed[index] = changed[index] == "A" ? "B" : "A"
            #expect(APIKeyFormat.parse(String(changed)) == nil, "position \(index)")
        }
        // The id and role are covered too.
        var otherRole = key
        otherRole[4] = "p"
        #expect(APIKeyFormat.parse(String(otherRole)) == nil)
        var otherID = key
        otherID[6] = otherID[6] == "a" ? "b" : "a"
        #expect(APIKeyFormat.parse(String(otherID)) == nil)
    }

    @Test func malformedExecboxKeysAreRefused() {
        let key = APIKeyFormat.generate(role: .secondary, keyID: keyID)
        for bad in [
            "ebx_", "ebx_s_", String(key.dropLast()), key + "x", key.replacingOccurrences(of: "ebx_s_", with: "ebx_x_"),
            "ebx_" + key.dropFirst(4).uppercased(),
        ] {
            #expect(APIKeyFormat.parse(bad) == nil, "\(bad)")
        }
        // Without the exact prefix a string is only a legacy candidate, looked up by hash like any other.
        #expect(APIKeyFormat.parse(key.uppercased()) == .legacy)
    }

    @Test func crc32MatchesTheReferenceValue() {
        // zlib's crc32("123456789") check value.
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Base62.encode(0, width: 6) == "000000")
        #expect(Base62.encode(61, width: 2) == "0z")
        #expect(Base62.encode(UInt32.max, width: 6) == "4gfFC3")
    }

    @Test func legacyKeysAreLookedUpAsTheyAre() {
        #expect(APIKeyFormat.parse(APIKeySecret.generate()) == .legacy)
        #expect(APIKeyFormat.parse("sk_test_local_dev_key") == .legacy)
        for bad in ["", "has space", "tab\tkey", String(repeating: "a", count: 257), "ключ"] {
            #expect(APIKeyFormat.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func bearerTokens() {
        func token(_ value: String?) -> String? {
            AuthInterceptor.bearerToken(value.map { [("authorization", .string($0))] } ?? [])
        }
        #expect(token("Bearer abc") == "abc")
        #expect(token("bearer abc") == nil)
        #expect(token("Bearer  abc") == nil)
        #expect(token("Bearer abc ") == nil)
        #expect(token(nil) == nil)
        #expect(token("Bearer ") == nil)
        #expect(token("Basic abc") == nil)
        #expect(token("abc") == nil)
    }

    @Test func clientAddresses() {
        #expect(RequestInfo.clientIP(fromPeer: "[IPv4]127.0.0.1/127.0.0.1:51234") == "127.0.0.1")
        #expect(RequestInfo.clientIP(fromPeer: "[IPv6]::1/::1:443") == "::1")
        #expect(RequestInfo.clientIP(fromPeer: "in-process") == "in-process")
    }
}
