import ExecboxFixtures
import ExecboxWellKnownTypes
import ExecboxWire
import Testing

/// Encodings checked against bytes worked out from the protobuf encoding spec.
@Suite struct BinaryCodingTests {
    @Test func defaultsAreNotWritten() {
        #expect(Scalars().serializedBytes().isEmpty)
        #expect(Scalars().serializedSize() == 0)
    }

    @Test func negativeZeroIsWritten() {
        // -0.0 differs from the default by its bits, so proto3 writes it.
        #expect(hex(Scalars.with { $0.fDouble = -0.0 }.serializedBytes()) == "090000000000000080")
    }

    @Test func negativeInt32IsTenBytes() {
        #expect(hex(Scalars.with { $0.fInt32 = -1 }.serializedBytes()) == "28ffffffffffffffffff01")
    }

    @Test func negativeEnumIsTenBytes() {
        #expect(hex(Scalars.with { $0.fColor = .blue }.serializedBytes()) == "8001fdffffffffffffffff01")
    }

    @Test func highFieldNumberTakesFiveByteTag() throws {
        let message = Scalars.with { $0.fHighNumber = 1 }
        #expect(hex(message.serializedBytes()) == "f8ffffff0f01")
        #expect(try Scalars(serializedBytes: message.serializedBytes()) == message)
    }

    @Test func repeatedScalarsArePackedUnlessMarkedOtherwise() throws {
        let message = Scalars.with {
            $0.rInt32 = [1, 2, 300]
            $0.uInt32 = [1, 2]
        }
        // r_int32 (25): tag c8 01 → packed c2 01, length 4, 01 02 ac 02; u_int32 (41): two c8 02 entries.
        #expect(hex(message.serializedBytes()) == "ca01040102ac02c80201c80202")
    }

    @Test func packedAndUnpackedAreBothAccepted() throws {
        // r_int32 unpacked (tag c8 01) and u_int32 packed (tag ca 02).
        let message = try Scalars(serializedBytes: bytes(hex: "c80101c80102ca02020304"))
        #expect(message.rInt32 == [1, 2])
        #expect(message.uInt32 == [3, 4])
    }

    @Test func allScalarsRoundTrip() throws {
        let message = Scalars.with {
            $0.fDouble = -1.5; $0.fFloat = .infinity; $0.fInt64 = .min; $0.fUint64 = .max; $0.fInt32 = .min
            $0.fFixed64 = .max; $0.fFixed32 = .max; $0.fBool = true; $0.fString = "héllo ✓ 🚀"; $0.fBytes = [0, 255]
            $0.fUint32 = .max; $0.fSfixed32 = .min; $0.fSfixed64 = .min; $0.fSint32 = .min; $0.fSint64 = .max
            $0.fColor = .unrecognized(42)
            $0.rDouble = [1, -0.0]; $0.rFloat = [1.25]; $0.rInt64 = [-1, .max]; $0.rUint64 = [.max]
            $0.rInt32 = [-1]; $0.rFixed64 = [1]; $0.rFixed32 = [2]; $0.rBool = [true, false]; $0.rString = ["", "x"]
            $0.rBytes = [[], [1]]; $0.rUint32 = [.max]; $0.rSfixed32 = [-3]; $0.rSfixed64 = [-4]; $0.rSint32 = [-5]
            $0.rSint64 = [-6]; $0.rColor = [.red, .unrecognized(-9)]; $0.uSint64 = [-7]; $0.uDouble = [2.5]
            $0.uColor = [.green]
        }
        let encoded = message.serializedBytes()
        #expect(encoded.count == message.serializedSize())
        #expect(try Scalars(serializedBytes: encoded) == message)
    }

    @Test func unknownEnumValuesArePreserved() throws {
        let message = try Scalars(serializedBytes: bytes(hex: "80012a"))
        #expect(message.fColor == .unrecognized(42))
        #expect(hex(message.serializedBytes()) == "80012a")
    }

    @Test func unknownFieldsArePreservedInOrder() throws {
        // Nested knows fields 1–3; fields 9 (varint), 10 (bytes) and 11 (fixed32) are unknown.
        let input = bytes(hex: "4807520568656c6c6f5d01020304")
        let message = try Nested(serializedBytes: input)
        #expect(message == Nested.with { $0.unknownFields = UnknownFields(bytes: input) })
        #expect(message.serializedBytes() == input)
        // Known fields are written first, then the unknown ones as they came.
        let withID = try Nested(serializedBytes: input + [0x08, 0x05])
        #expect(hex(withID.serializedBytes()) == "0805" + hex(input))
        let dropped = try Nested(serializedBytes: input, options: WireDecodingOptions(discardUnknownFields: true))
        #expect(dropped.serializedBytes().isEmpty)
    }

    @Test func wireTypeMismatchBecomesUnknown() throws {
        // Field 1 (id, varint) sent as fixed32: kept as unknown, id stays 0.
        let message = try Nested(serializedBytes: bytes(hex: "0d01000000"))
        #expect(message.id == 0)
        #expect(hex(message.unknownFields.bytes) == "0d01000000")
    }

    @Test func nestedMessagesMergeAndScalarsOverwrite() throws {
        // inner{mode=FAST} then inner{deeper{note="n"}}: both survive; last id wins.
        let first = Composite.with {
            $0.inner = .with { $0.mode = .fast }; $0.class = 1
        }
        let second = Composite.with {
            $0.inner = .with { $0.deeper = .with { $0.note = "n" } }; $0.class = 2
        }
        let merged = try Composite(serializedBytes: first.serializedBytes() + second.serializedBytes())
        #expect(merged.inner?.mode == .fast)
        #expect(merged.inner?.deeper?.note == "n")
        #expect(merged.class == 2)
    }

    @Test func oneofLastMemberWins() throws {
        let a = Composite.with { $0.choice = .choiceInt(1) }
        let b = Composite.with { $0.choice = .choiceString("two") }
        #expect(
            try Composite(serializedBytes: a.serializedBytes() + b.serializedBytes()).choice == .choiceString("two"))
    }

    @Test func oneofDefaultValueIsStillWritten() {
        // A set oneof member is written even when it holds the default value.
        #expect(hex(Composite.with { $0.choice = .choiceInt(0) }.serializedBytes()) == "0800")
    }

    @Test func mapsRoundTripAndToleratesMissingKeyOrValue() throws {
        let message = Maps.with {
            $0.stringString = ["a": "1", "": ""]
            $0.int32Int32 = [-1: -2]
            $0.boolBool = [true: false]
            $0.stringMessage = ["m": Nested.with { $0.id = 1 }]
            $0.int32Message = [0: Nested()]
            $0.stringColor = ["c": .unrecognized(77)]
            $0.fixed64Fixed64 = [.max: 1]
        }
        #expect(try Maps(serializedBytes: message.serializedBytes()) == message)
        // An entry with no key and no value is the entry ("" → "").
        #expect(try Maps(serializedBytes: bytes(hex: "0a00")).stringString == ["": ""])
    }

    @Test func recursiveFieldsRoundTrip() throws {
        let message = sampleComposite()
        let encoded = message.serializedBytes()
        #expect(encoded.count == message.serializedSize())
        #expect(try Composite(serializedBytes: encoded) == message)
    }

    @Test func presenceKeepsDefaultsThatWereSet() throws {
        let message = Presence.with {
            $0.oInt32 = 0; $0.oString = ""; $0.oColor = .unspecified
        }
        #expect(hex(message.serializedBytes()) == "08002a004800")
        let decoded = try Presence(serializedBytes: message.serializedBytes())
        #expect(decoded.oInt32 == 0)
        #expect(decoded.oInt64 == nil)
        #expect(decoded == message)
    }

    @Test func serializeIntoCallerBuffer() {
        let message = sampleComposite()
        var buffer = [UInt8](repeating: 0, count: message.serializedSize())
        let written = buffer.withUnsafeMutableBytes { message.serialize(into: $0) }
        #expect(written == buffer.count)
        #expect(buffer == message.serializedBytes())
    }
}
