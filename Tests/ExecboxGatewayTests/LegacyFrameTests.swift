import NIOCore
import Testing

@testable import ExecboxGateway

@Suite struct LegacyFrameTests {
    func bytes(_ frame: LegacyFrame) -> [UInt8] {
        Array(frame.encode().readableBytesView)
    }

    func decode(_ bytes: [UInt8]) throws(LegacyFrame.DecodingError) -> LegacyFrame {
        try LegacyFrame.decode(ByteBuffer(bytes: bytes))
    }

    @Test func contractExamplesAreBitExact() {
        #expect(bytes(.stdout(Array("hi".utf8))) == [0x02, 0, 0, 0, 2, 0x68, 0x69])
        #expect(bytes(.exit(0)) == [0x04, 0, 0, 0, 0])
        #expect(bytes(.exit(137)) == [0x04, 0, 0, 0, 0x89])
        #expect(bytes(.exit(-1)) == [0x04, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(bytes(.stdinClose) == [0x06])
        #expect(bytes(.stderr([])) == [0x03, 0, 0, 0, 0])
        #expect(bytes(.resize(cols: 120, rows: 40)) == [0x07, 0, 120, 0, 40])
    }

    @Test func everyTypeRoundTrips() throws {
        let frames: [LegacyFrame] = [
            .stdin(Array(0...255)), .stdout([1, 2, 3]), .stderr([]), .exit(-1), .exit(255), .error("bad ✓"),
            .stdinClose,
            .resize(cols: 65535, rows: 1),
        ]
        for frame in frames {
            #expect(try decode(bytes(frame)) == frame)
        }
    }

    @Test(
        arguments: [
            ([], "empty message"),
            ([0x01, 0, 0], "message too short: 3 bytes, need at least 5"),
            ([0x01, 0, 0, 0, 3, 0x61], "length mismatch: declared 3, got 1"),
            ([0x01, 0, 0, 0, 1, 0x61, 0x62], "length mismatch: declared 1, got 2"),
            ([0x02, 0x01, 0, 0, 0], "payload length 16777216 exceeds 16777215"),
            ([0x04, 0, 0, 0], "exit message must be 5 bytes, got 4"),
            ([0x04, 0, 0, 0, 0, 0], "exit message must be 5 bytes, got 6"),
            ([0x06, 0], "stdin close message must be 1 byte, got 2"),
            ([0x07, 0, 80], "resize message must be 5 bytes, got 3"),
            ([0x08], "unknown message type 0x8"),
            ([0xFF, 0, 0, 0, 0], "unknown message type 0xff"),
        ] as [([UInt8], String)])
    func malformedMessagesAreRefusedWithAReason(input: [UInt8], reason: String) {
        #expect(throws: LegacyFrame.DecodingError(reason: reason)) { try decode(input) }
    }

    @Test func errorTextOver1024BytesIsRefusedOnInputAndCutOnOutput() throws {
        var long: [UInt8] = [0x05, 0, 0, 0x04, 0x01]
        long += [UInt8](repeating: 0x61, count: 1025)
        #expect(throws: LegacyFrame.DecodingError.self) { try decode(long) }
        // 1023 ASCII bytes and a 3-byte character: the character does not fit and is dropped whole.
        let text = String(repeating: "a", count: 1023) + "✓✓"
        let encoded = bytes(.error(text))
        #expect(encoded.count == 5 + 1023)
        #expect(try decode(encoded) == .error(String(repeating: "a", count: 1023)))
    }

    @Test func largestPayloadIsAccepted() throws {
        var header: [UInt8] = [0x01, 0x00, 0xFF, 0xFF, 0xFF]
        header += [UInt8](repeating: 7, count: 0xFF_FFFF)
        guard case .stdin(let payload) = try decode(header) else {
            Issue.record("not stdin")
            return
        }
        #expect(payload.count == 0xFF_FFFF)
    }
}
