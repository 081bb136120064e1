import ExecboxFixtures
import ExecboxWellKnownTypes
import ExecboxWire
import Testing

/// Malformed and hostile inputs end in errors, never traps or unbounded allocation.
@Suite struct WireReaderTests {
    @Test(arguments: [
        ("08", WireDecodingError.truncated),  // tag, no value
        ("0a05616263", .truncated),  // length 5, three bytes
        ("00", .invalidTag(0)),  // field number 0
        ("0e", .invalidTag(14)),  // wire type 6
        ("0f", .invalidTag(15)),  // wire type 7
        ("0c", .unbalancedGroup),  // end group without start
        ("0b", .truncated),  // start group, never ended
        ("0b1c", .unbalancedGroup),  // start group 1 ended as group 3
        ("12ffffffff0f", .invalidLength(0xffff_ffff)),  // 4 GiB length
        ("1202c328", .invalidUTF8(field: 2)),  // name: invalid UTF-8
    ])
    func rejects(hexInput: String, error: WireDecodingError) {
        #expect(throws: error) { try Nested(serializedBytes: bytes(hex: hexInput)) }
    }

    @Test func depthLimit() throws {
        var message = Nested.with { $0.id = 1 }
        for _ in 0..<120 { message = Nested.with { $0.children = [message] } }
        let encoded = message.serializedBytes()
        #expect(throws: WireDecodingError.tooDeep(limit: 100)) { try Nested(serializedBytes: encoded) }
        let relaxed = WireDecodingOptions(maxDepth: 200)
        #expect(try Nested(serializedBytes: encoded, options: relaxed) == message)
    }

    @Test func sizeLimit() {
        let encoded = Scalars.with { $0.fBytes = [UInt8](repeating: 7, count: 1000) }.serializedBytes()
        #expect(throws: WireDecodingError.tooLarge(size: encoded.count, limit: 100)) {
            try Scalars(serializedBytes: encoded, options: WireDecodingOptions(maxSize: 100))
        }
    }

    @Test func groupsAreSkippedIntoUnknownFields() throws {
        // Field 7 as a group holding field 1 = 1, then id = 3.
        let input = bytes(hex: "3b08013c0803")
        let message = try Nested(serializedBytes: input)
        #expect(message.id == 3)
        #expect(hex(message.unknownFields.bytes) == "3b08013c")
        #expect(hex(message.serializedBytes()) == "08033b08013c")
    }

    @Test func truncatedPackedRunIsMalformed() {
        // r_fixed32 (field 27) packed with 5 bytes: not a multiple of 4.
        #expect(throws: WireDecodingError.malformedPacked(field: 27)) {
            try Scalars(serializedBytes: bytes(hex: "da01050100000002"))
        }
    }

    @Test func everyPrefixOfAValidMessageFailsCleanly() throws {
        let full = sampleComposite().serializedBytes()
        for n in 0..<full.count {
            // A prefix may happen to be valid; it must never trap.
            _ = try? Composite(serializedBytes: Array(full[0..<n]))
        }
        #expect(try Composite(serializedBytes: full) == sampleComposite())
    }
}

func sampleComposite() -> Composite {
    Composite.with {
        $0.choice = .choiceMessage(
            Nested.with {
                $0.id = 7; $0.name = "seven"
            })
        $0.other = .otherSint64(-5)
        $0.inner = .with {
            $0.mode = .safe; $0.deeper = .with { $0.note = "deep" }
        }
        $0.recursive = Composite.with {
            $0.choice = .choiceString("inner"); $0.mode = .fast
        }
        $0.children = [Composite.with { $0.class = 3 }, Composite()]
        $0.createdAt = .with {
            $0.seconds = 1_700_000_000; $0.nanos = 5_000_000
        }
        $0.elapsed = .with {
            $0.seconds = -1; $0.nanos = -500_000_000
        }
        $0.nothing = .init()
        $0.times = [.with { $0.seconds = 0 }]
        $0.durations = ["a": .with { $0.seconds = 3 }]
        $0.default = "d"
        $0.self_ = true
        $0.type = "t"
        $0.protocol = "p"
        $0.jsonNameOverride = "custom"
    }
}
