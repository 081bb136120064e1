import ExecboxFixtures
import ExecboxWellKnownTypes
import ExecboxWire
import Testing

@Suite struct VarintTests {
    @Test(arguments: [
        (UInt64(0), 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (UInt64(Int64.max), 9), (UInt64.max, 10),
    ])
    func sizes(value: UInt64, size: Int) {
        #expect(Varint.size(value) == size)
    }

    @Test func negativeInt32TakesTenBytes() {
        #expect(Varint.size(int32: -1) == 10)
        #expect(Varint.size(int32: Int32.min) == 10)
        #expect(Varint.size(int32: Int32.max) == 5)
    }

    @Test(arguments: [
        (Int32(0), UInt32(0)), (-1, 1), (1, 2), (-2, 3), (Int32.max, UInt32.max - 1), (Int32.min, UInt32.max),
    ])
    func zigZag32(value: Int32, encoded: UInt32) {
        #expect(ZigZag.encode(value) == encoded)
        #expect(ZigZag.decode(encoded) == value)
    }

    @Test func zigZag64Extremes() {
        #expect(ZigZag.encode(Int64.min) == UInt64.max)
        #expect(ZigZag.decode(UInt64.max) == Int64.min)
        #expect(ZigZag.decode(ZigZag.encode(Int64(-123_456_789_012))) == -123_456_789_012)
    }

    @Test func knownEncoding() throws {
        // The protobuf documentation's example: field 1 = 150 → 08 96 01.
        let message = Nested.with { $0.id = 150 }
        #expect(hex(message.serializedBytes()) == "089601")
        #expect(try Nested(serializedBytes: bytes(hex: "089601")).id == 150)
    }

    @Test func elevenByteVarintIsRejected() {
        let input: [UInt8] = [0x08] + [UInt8](repeating: 0xff, count: 10) + [0x01]
        #expect(throws: WireDecodingError.malformedVarint) { try Nested(serializedBytes: input) }
    }

    @Test func tenthByteOverflowIsRejected() {
        // Nine continuation bytes then a tenth carrying more than the 64th bit.
        let input: [UInt8] = [0x08] + [UInt8](repeating: 0xff, count: 9) + [0x02]
        #expect(throws: WireDecodingError.malformedVarint) { try Nested(serializedBytes: input) }
    }

    @Test func maxUInt64RoundTrips() throws {
        let message = Scalars.with {
            $0.fUint64 = .max; $0.fInt64 = .min; $0.fSint64 = .min
        }
        #expect(try Scalars(serializedBytes: message.serializedBytes()) == message)
    }
}
