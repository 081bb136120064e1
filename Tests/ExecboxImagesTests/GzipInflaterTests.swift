import ExecboxImages
import Testing

@Suite struct GzipInflaterTests {
    static let text = Array((0..<20_000).map { "line \($0)\n" }.joined().utf8)

    @Test func inflatesInOneCallAndByteByByte() throws {
        let compressed = gzip(Self.text)
        var whole: [UInt8] = []
        let inflater = GzipInflater()
        try inflater.inflate(compressed, into: &whole)
        try inflater.finish()
        #expect(whole == Self.text)

        var pieces: [UInt8] = []
        let byByte = GzipInflater()
        for byte in compressed { try byByte.inflate([byte], into: &pieces) }
        try byByte.finish()
        #expect(pieces == Self.text)
    }

    @Test func concatenatedMembersAreOneStream() throws {
        var output: [UInt8] = []
        let inflater = GzipInflater()
        try inflater.inflate(gzip(Array("hello ".utf8)) + gzip(Array("world".utf8)), into: &output)
        try inflater.inflate(gzip(Array("!".utf8)), into: &output)
        try inflater.finish()
        #expect(output == Array("hello world!".utf8))
    }

    @Test func maxOutputBoundsEachCallAndKeepsTheRest() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = gzip(zeros)
        #expect(compressed.count < 2000)
        let inflater = GzipInflater()
        var output: [UInt8] = []
        var consumed = 0
        var calls = 0
        while true {
            let before = output.count
            consumed += try inflater.inflate(compressed[consumed...], into: &output, maxOutput: 4096)
            #expect(output.count - before <= 4096)
            calls += 1
            if output.count == before && consumed == compressed.count { break }
        }
        try inflater.finish()
        #expect(output == zeros)
        #expect(calls > 256)
    }

    @Test func truncatedCorruptAndEmptyStreamsThrow() throws {
        let compressed = gzip(Self.text)
        let truncated = GzipInflater()
        var output: [UInt8] = []
        try truncated.inflate(compressed.dropLast(20), into: &output)
        #expect(throws: LayerError.self) { try truncated.finish() }

        let trailerCut = GzipInflater()
        output = []
        try trailerCut.inflate(compressed.dropLast(1), into: &output)
        #expect(throws: LayerError.self) { try trailerCut.finish() }

        var corrupt = compressed
        corrupt[corrupt.count - 6] ^= 0xFF  // the CRC
        let corrupted = GzipInflater()
        output = []
        #expect(throws: LayerError.self) { try corrupted.inflate(corrupt, into: &output) }
        // Errors stick.
        #expect(throws: LayerError.self) { try corrupted.inflate([], into: &output) }

        #expect(throws: LayerError.self) { try GzipInflater().finish() }
        #expect(throws: LayerError.self) {
            var output: [UInt8] = []
            try GzipInflater().inflate(Array("not gzip at all".utf8), into: &output)
        }
    }

    @Test func zlibFormat() throws {
        // "hello" deflated in the zlib format (python3 -c 'import zlib; zlib.compress(b"hello")').
        let stream: [UInt8] = [0x78, 0x9C, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x06, 0x2C, 0x02, 0x15]
        let inflater = GzipInflater(format: .zlib)
        var output: [UInt8] = []
        try inflater.inflate(stream, into: &output)
        try inflater.finish()
        #expect(output == Array("hello".utf8))
    }
}
