import ExecboxWire
import Testing

private enum Shade: WireEnum {
    case unspecified, dark
    case unrecognized(Int32)

    static let allCases: [Shade] = [.unspecified, .dark]

    init(rawValue: Int32) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .dark
        default: self = .unrecognized(rawValue)
        }
    }

    var rawValue: Int32 {
        switch self {
        case .unspecified: 0
        case .dark: 1
        case .unrecognized(let n): n
        }
    }

    var protoName: String? {
        switch self {
        case .unspecified: "SHADE_UNSPECIFIED"
        case .dark: "SHADE_DARK"
        case .unrecognized: nil
        }
    }

    init?(protoName: String) {
        switch protoName {
        case "SHADE_UNSPECIFIED": self = .unspecified
        case "SHADE_DARK": self = .dark
        default: return nil
        }
    }
}

private func written(_ options: JSONEncodingOptions = .init(), _ body: (inout JSONWriter) -> Void) -> String {
    var writer = JSONWriter(options: options)
    body(&writer)
    return writer.string
}

@Suite struct JSONWriterTests {
    @Test func separatorsInObjectsAndArrays() {
        let json = written { w in
            w.beginObject()
            w.field(json: "a", proto: "a")
            w.int32(1)
            w.field(json: "list", proto: "list")
            w.beginArray()
            w.int32(1)
            w.beginObject()
            w.endObject()
            w.beginArray()
            w.endArray()
            w.string("x")
            w.endArray()
            w.field(json: "map", proto: "map")
            w.beginObject()
            w.key("k1")
            w.bool(true)
            w.key("k2")
            w.null()
            w.endObject()
            w.endObject()
        }
        #expect(json == #"{"a":1,"list":[1,{},[],"x"],"map":{"k1":true,"k2":null}}"#)
    }

    @Test func fieldNamesFollowTheOption() {
        let camel = written { w in
            w.beginObject()
            w.field(json: "sessionId", proto: "session_id")
            w.string("s")
            w.endObject()
        }
        let snake = written(JSONEncodingOptions(preserveProtoFieldNames: true)) { w in
            w.beginObject()
            w.field(json: "sessionId", proto: "session_id")
            w.string("s")
            w.endObject()
        }
        #expect(camel == #"{"sessionId":"s"}"#)
        #expect(snake == #"{"session_id":"s"}"#)
    }

    @Test func typedMapKeys() {
        let json = written { w in
            w.beginObject()
            w.key(Int32(-5))
            w.int32(1)
            w.key(UInt64.max)
            w.int32(2)
            w.key(true)
            w.int32(3)
            w.key(Int64.min)
            w.int32(4)
            w.endObject()
        }
        #expect(json == #"{"-5":1,"18446744073709551615":2,"true":3,"-9223372036854775808":4}"#)
    }

    @Test func stringEscapes() {
        #expect(written { $0.string("a\"b\\c/d") } == #""a\"b\\c/d""#)
        #expect(written { $0.string("\n\r\t\u{08}\u{0C}") } == #""\n\r\t\b\f""#)
        #expect(written { $0.string("\u{00}\u{01}\u{1F}\u{7F}") } == "\"\\u0000\\u0001\\u001f\u{7F}\"")
        #expect(written { $0.string("é😀\u{2028}") } == "\"é😀\u{2028}\"")
        #expect(written { $0.key("a\"b") } == #""a\"b":"#)
        #expect(written { $0.string("") } == #""""#)
    }

    @Test func integers() {
        #expect(written { $0.int32(Int32.min) } == "-2147483648")
        #expect(written { $0.int32(0) } == "0")
        #expect(written { $0.uint32(UInt32.max) } == "4294967295")
        #expect(written { $0.int64(Int64.min) } == #""-9223372036854775808""#)
        #expect(written { $0.int64(Int64.max) } == #""9223372036854775807""#)
        #expect(written { $0.uint64(UInt64.max) } == #""18446744073709551615""#)
        #expect(written { $0.uint64(0) } == #""0""#)
    }

    @Test func floatingPoint() {
        #expect(written { $0.double(1.5) } == "1.5")
        #expect(written { $0.double(100) } == "100")
        #expect(written { $0.double(-0.0) } == "-0")
        #expect(written { $0.double(0.1) } == "0.1")
        #expect(written { $0.double(1e300) } == "1e+300")
        #expect(written { $0.double(.leastNonzeroMagnitude) } == "5e-324")
        #expect(written { $0.double(.nan) } == #""NaN""#)
        #expect(written { $0.double(.infinity) } == #""Infinity""#)
        #expect(written { $0.double(-.infinity) } == #""-Infinity""#)
        // Float's own shortest form, not that of the Double it widens to (0.10000000149011612).
        #expect(written { $0.float(0.1) } == "0.1")
        #expect(written { $0.float(Float.greatestFiniteMagnitude) } == "3.4028235e+38")
        #expect(written { $0.float(-.infinity) } == #""-Infinity""#)
    }

    @Test func floatingPointRoundTrips() throws {
        for value in [
            0.1, 1.0 / 3, Double.pi, 1e-7, 123_456_789_012_345_680, -2.5e-308, Double.greatestFiniteMagnitude,
        ] {
            let text = written { $0.double(value) }
            #expect(Double(text) == value)
        }
    }

    @Test func bytesAreStandardBase64() {
        #expect(written { $0.bytes([]) } == #""""#)
        #expect(written { $0.bytes([0xFB, 0xFF]) } == #""+/8=""#)
        #expect(written { $0.bytes(Array("hello".utf8)) } == #""aGVsbG8=""#)
    }

    @Test func enumsByNameOrNumber() {
        #expect(written { $0.enumValue(Shade.dark) } == #""SHADE_DARK""#)
        #expect(written { $0.enumValue(Shade.unrecognized(7)) } == "7")
        #expect(written { $0.enumValue(Shade.unrecognized(-3)) } == "-3")
    }

    @Test func arrayOfValuesGetsCommas() {
        let json = written { w in
            w.beginArray()
            w.int64(1)
            w.double(.nan)
            w.bytes([1])
            w.enumValue(Shade.dark)
            w.timestamp(seconds: 0, nanos: 0)
            w.duration(seconds: 1, nanos: 0)
            w.null()
            w.bool(false)
            w.uint32(3)
            w.float(2)
            w.endArray()
        }
        #expect(json == #"["1","NaN","AQ==","SHADE_DARK","1970-01-01T00:00:00Z","1s",null,false,3,2]"#)
    }

    @Test func bytesPropertyMatchesString() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field(json: "é", proto: "é")
        writer.string("ü")
        writer.endObject()
        #expect(writer.bytes == Array(#"{"é":"ü"}"#.utf8))
        #expect(writer.string == #"{"é":"ü"}"#)
    }
}
