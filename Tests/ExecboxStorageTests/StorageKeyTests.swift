import ExecboxStorage
import Foundation
import Testing

@Suite("Storage key and sealed secrets")
struct StorageKeyTests {
    @Test("the data-directory key is created once, mode 0600, and read back unchanged")
    func keyFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/storage.key"
        let first = try StorageKey.loadOrCreate(at: path)
        let second = try StorageKey.loadOrCreate(at: path)
        #expect(first.base64 == second.base64)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // A sealed value opens only with the same key and the same context.
        let sealed = try SecretBox(key: first).seal(Array("s3cret".utf8), context: "session-env:a")
        #expect(try SecretBox(key: second).open(sealed, context: "session-env:a") == Array("s3cret".utf8))
        #expect(throws: StorageError.self) { try SecretBox(key: second).open(sealed, context: "session-env:b") }
        #expect(throws: StorageError.self) { try SecretBox(key: .random()).open(sealed, context: "session-env:a") }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: StorageError.self) { try SecretBox(key: first).open(tampered, context: "session-env:a") }
    }

    @Test("malformed operator keys are refused")
    func badKeys() {
        #expect(throws: StorageError.self) { try StorageKey(base64: "not base64!") }
        #expect(throws: StorageError.self) { try StorageKey(base64: Data(count: 16).base64EncodedString()) }
        #expect(throws: Never.self) { try StorageKey(base64: Data(count: 32).base64EncodedString()) }
    }

    @Test("legacy key format and preview")
    func secrets() {
        let secret = APIKeySecret.generate()
        #expect(secret.count == 67 && secret.hasPrefix("sk_"))
        #expect(secret.dropFirst(3).allSatisfy { "0123456789abcdef".contains($0) })
        #expect(APIKeySecret.preview(of: "sk_a20b0000000000000000fc3e") == "sk_a20b...fc3e")
        #expect(APIKeySecret.preview(of: "sk_short") == "sk_****")
        #expect(APIKeyHash(secret: "abc").bytes.count == 32)
    }
}
