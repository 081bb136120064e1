import ExecboxWire
import Testing

@Suite struct Base64Tests {
    private func read(_ json: String) throws -> [UInt8] {
        try scanJSON(json) { try $0.readBytes() }
    }

    @Test func rfc4648Vectors() throws {
        let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
            #expect(try read("\"\(encoded)\"") == Array(plain.utf8))
        }
    }

    @Test func everyByteValueRoundTrips() {
        let all = (0...255).map { UInt8($0) }
        for length in [0, 1, 2, 3, 4, 255, 256] {
            let bytes = Array(all.prefix(length))
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }

    @Test func urlSafeAndUnpadded() throws {
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(try read(#""-_-_""#) == [0xFB, 0xFF, 0xBF])
        #expect(try read(#""+/8=""#) == [0xFB, 0xFF])
        #expect(try read(#""-_8""#) == [0xFB, 0xFF])
        #expect(try read(#""Zg""#) == Array("f".utf8))
        #expect(try read(#""Zm8""#) == Array("fo".utf8))
        // Escaped characters are still base64 once unescaped.
        #expect(try read(#""Zm9\u0076""#) == Array("foo".utf8))
    }

    @Test func rejectsInvalid() {
        for bad in [
            "Z", "Zg=", "Zg===", "=", "==", "Zm9v=", "Zm=v", "Z===", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v!", "Zm9vé",
            "====",
        ] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
            let failure = scanJSONFailure("\"\(bad)\"") { try $0.readBytes() }
            #expect(failure?.isInvalidValue == true || failure?.isSyntax == true, "\(bad)")
        }
        #expect(scanJSONFailure("[1]") { try $0.readBytes() }?.isSyntax == true)
    }

    @Test func writerUsesStandardAlphabetWithPadding() {
        var writer = JSONWriter()
        writer.bytes([0xFB, 0xFF])
        #expect(writer.string == #""+/8=""#)
    }
}
