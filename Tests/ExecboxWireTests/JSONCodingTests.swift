import ExecboxFixtures
import ExecboxWellKnownTypes
import ExecboxWire
import Testing

/// Generated messages against the canonical proto3 JSON mapping.
@Suite struct JSONCodingTests {
    @Test func scalarsUseTheCanonicalForms() throws {
        let message = Scalars.with {
            $0.fInt64 = -9_007_199_254_740_993
            $0.fUint64 = .max
            $0.fInt32 = -1
            $0.fBytes = [0xfb, 0xff]
            $0.fColor = .blue
            $0.fDouble = .nan
            $0.fFloat = -.infinity
            $0.rColor = [.red, .unrecognized(9)]
        }
        let json = try message.jsonString()
        #expect(json.contains(#""fInt64":"-9007199254740993""#))
        #expect(json.contains(#""fUint64":"18446744073709551615""#))
        #expect(json.contains(#""fInt32":-1"#))
        #expect(json.contains(#""fBytes":"+/8=""#))
        #expect(json.contains(#""fColor":"COLOR_BLUE""#))
        #expect(json.contains(#""fDouble":"NaN""#))
        #expect(json.contains(#""fFloat":"-Infinity""#))
        #expect(json.contains(#""rColor":["COLOR_RED",9]"#))
    }

    @Test func defaultsAreOmitted() throws {
        #expect(try Scalars().jsonString() == "{}")
        #expect(try Presence.with { $0.oInt32 = 0 }.jsonString() == #"{"oInt32":0}"#)
    }

    @Test func protoNamesAreAcceptedAndCanBeWritten() throws {
        let message = try Scalars(jsonString: #"{"f_int32": 5, "fString": "x", "r_int64": ["1", 2]}"#)
        #expect(message.fInt32 == 5)
        #expect(message.fString == "x")
        #expect(message.rInt64 == [1, 2])
        let options = JSONEncodingOptions(preserveProtoFieldNames: true)
        #expect(try message.jsonString(options: options) == #"{"f_int32":5,"f_string":"x","r_int64":["1","2"]}"#)
    }

    @Test func customJSONNameIsUsed() throws {
        let message = Composite.with { $0.jsonNameOverride = "v" }
        #expect(try message.jsonString() == #"{"customName":"v"}"#)
        #expect(try Composite(jsonString: #"{"json_name_override":"w"}"#).jsonNameOverride == "w")
    }

    @Test func wellKnownTypesHaveTheirOwnForms() throws {
        let message = Composite.with {
            $0.createdAt = .with {
                $0.seconds = 1_700_000_000; $0.nanos = 5_000_000
            }
            $0.elapsed = .with {
                $0.seconds = -1; $0.nanos = -500_000_000
            }
            $0.nothing = .init()
            $0.durations = ["a": .with { $0.seconds = 3 }]
        }
        let json = try message.jsonString()
        #expect(json.contains(#""createdAt":"2023-11-14T22:13:20.005Z""#))
        #expect(json.contains(#""elapsed":"-1.500s""#))
        #expect(json.contains(#""nothing":{}"#))
        #expect(json.contains(#""durations":{"a":"3s"}"#))
        #expect(try Composite(jsonString: json) == message)
    }

    @Test func mapsWithNonStringKeys() throws {
        let message = Maps.with {
            $0.int64Int64 = [-5: 6]
            $0.boolBool = [true: true]
            $0.int32Message = [3: Nested.with { $0.id = 4 }]
        }
        let json = try message.jsonString()
        #expect(json.contains(#""int64Int64":{"-5":"6"}"#))
        #expect(json.contains(#""boolBool":{"true":true}"#))
        #expect(json.contains(#""int32Message":{"3":{"id":4}}"#))
        #expect(try Maps(jsonString: json) == message)
    }

    @Test func oneofsAndRecursionRoundTrip() throws {
        let message = sampleComposite()
        #expect(try Composite(jsonString: try message.jsonString()) == message)
    }

    @Test func nullResetsAField() throws {
        var message = Scalars.with {
            $0.fInt32 = 3; $0.rString = ["a"]
        }
        let input = Array(#"{"fInt32": null, "rString": null}"#.utf8)
        try input.withUnsafeBytes { raw in try message.merge(jsonUTF8Bytes: raw) }
        #expect(message == Scalars())
    }

    @Test func unknownFieldsAreRejectedUnlessIgnored() throws {
        #expect(throws: JSONDecodingError.unknownField("nope")) { try Nested(jsonString: #"{"nope": 1}"#) }
        let relaxed = JSONDecodingOptions(ignoreUnknownFields: true)
        #expect(try Nested(jsonString: #"{"nope": {"deep": [1]}, "id": 2}"#, options: relaxed).id == 2)
    }

    @Test func unknownEnumNames() throws {
        #expect(throws: (any Error).self) { try Scalars(jsonString: #"{"fColor": "COLOR_PURPLE"}"#) }
        let relaxed = JSONDecodingOptions(ignoreUnknownFields: true)
        #expect(try Scalars(jsonString: #"{"fColor": "COLOR_PURPLE"}"#, options: relaxed).fColor == .unspecified)
        #expect(try Scalars(jsonString: #"{"fColor": 42}"#).fColor == .unrecognized(42))
        #expect(try Scalars(jsonString: #"{"fColor": "COLOR_CRIMSON"}"#).fColor == .red)
    }

    @Test(arguments: [
        #"{"fInt32": 2147483648}"#,
        #"{"fInt32": 1.5}"#,
        #"{"fUint32": -1}"#,
        #"{"fBool": "true"}"#,
        #"{"fString": 1}"#,
        #"{"rInt32": [1,]}"#,
        #"{"fInt32": 1} x"#,
        #"{"fBytes": "!!!"}"#,
        #"["#,
    ])
    func rejectsInvalidValues(json: String) {
        #expect(throws: JSONDecodingError.self) { try Scalars(jsonString: json) }
    }

    @Test func outOfRangeWellKnownValuesHaveNoJSON() {
        let timestamp = Composite.with { $0.createdAt = .with { $0.seconds = 253_402_300_800 } }
        #expect(throws: JSONEncodingError.timestampOutOfRange(seconds: 253_402_300_800, nanos: 0)) {
            try timestamp.jsonString()
        }
        let duration = Composite.with {
            $0.elapsed = .with {
                $0.seconds = 1; $0.nanos = -1
            }
        }
        #expect(throws: JSONEncodingError.durationOutOfRange(seconds: 1, nanos: -1)) { try duration.jsonString() }
    }

    @Test func deepJSONIsRejected() {
        let deep = String(repeating: #"{"children":["#, count: 150) + String(repeating: "]}", count: 150)
        #expect(throws: JSONDecodingError.self) { try Nested(jsonString: deep) }
    }
}
