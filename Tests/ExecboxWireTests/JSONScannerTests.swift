import ExecboxWire
import Testing

/// Runs `body` over `json` and checks that only whitespace follows what it read.
func scanJSON<T>(
    _ json: [UInt8],
    _ options: JSONDecodingOptions = .init(),
    _ body: (inout JSONScanner) throws -> T
) throws -> T {
    try json.withUnsafeBufferPointer { buffer in
        var scanner = JSONScanner(bytes: UnsafeRawBufferPointer(buffer), options: options)
        let value = try body(&scanner)
        try scanner.finish()
        return value
    }
}

func scanJSON<T>(
    _ json: String,
    _ options: JSONDecodingOptions = .init(),
    _ body: (inout JSONScanner) throws -> T
) throws -> T {
    try scanJSON(Array(json.utf8), options, body)
}

/// The error scanning `json` ends in, or nil if it succeeds.
func scanJSONFailure<T>(
    _ json: String,
    _ options: JSONDecodingOptions = .init(),
    _ body: (inout JSONScanner) throws -> T
) -> JSONDecodingError? {
    scanJSONFailure(Array(json.utf8), options, body)
}

func scanJSONFailure<T>(
    _ json: [UInt8],
    _ options: JSONDecodingOptions = .init(),
    _ body: (inout JSONScanner) throws -> T
) -> JSONDecodingError? {
    do {
        _ = try scanJSON(json, options, body)
        return nil
    } catch {
        return error as? JSONDecodingError
    }
}

extension JSONDecodingError {
    var isSyntax: Bool {
        if case .syntax = self { return true }
        return false
    }

    var isInvalidValue: Bool {
        if case .invalidValue = self { return true }
        return false
    }

    var isInvalidUTF8: Bool {
        if case .invalidUTF8 = self { return true }
        return false
    }
}

private enum Mood: WireEnum {
    case unspecified, happy
    case unrecognized(Int32)

    static let allCases: [Mood] = [.unspecified, .happy]

    init(rawValue: Int32) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .happy
        default: self = .unrecognized(rawValue)
        }
    }

    var rawValue: Int32 {
        switch self {
        case .unspecified: 0
        case .happy: 1
        case .unrecognized(let n): n
        }
    }

    var protoName: String? {
        switch self {
        case .unspecified: "MOOD_UNSPECIFIED"
        case .happy: "MOOD_HAPPY"
        case .unrecognized: nil
        }
    }

    init?(protoName: String) {
        switch protoName {
        case "MOOD_UNSPECIFIED": self = .unspecified
        case "MOOD_HAPPY": self = .happy
        default: return nil
        }
    }
}

/// A hand-written stand-in for a generated message, for the `WireMessage` JSON entry points.
private struct Probe: WireMessage {
    static let protoMessageName = "test.Probe"
    var name = ""
    var count: Int64 = 0
    var tags: [String] = []
    var unknownFields = UnknownFields()

    init() {}

    mutating func decodeMessage(from reader: inout WireReader) throws(WireDecodingError) {
        while let tag = try reader.nextTag() { try reader.skipField(tag, into: &unknownFields) }
    }

    func _computeSize(_ cache: inout WireSizeCache) -> Int { 0 }

    func _encode(to writer: inout WireWriter, _ cache: inout WireSizeCache) {}

    func encodeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        if !name.isEmpty {
            writer.field(json: "name", proto: "name")
            writer.string(name)
        }
        if count != 0 {
            writer.field(json: "count", proto: "count")
            writer.int64(count)
        }
        if !tags.isEmpty {
            writer.field(json: "tags", proto: "tags")
            writer.beginArray()
            for tag in tags { writer.string(tag) }
            writer.endArray()
        }
        writer.endObject()
    }

    mutating func decodeJSON(from scanner: inout JSONScanner) throws(JSONDecodingError) {
        if try scanner.readNull() { return }
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            switch key {
            case "name":
                if try !scanner.readNull() { name = try scanner.readString() }
            case "count":
                if try !scanner.readNull() { count = try scanner.readInt64() }
            case "tags":
                if try scanner.readNull() { continue }
                try scanner.beginArray()
                while try scanner.nextArrayElement() { tags.append(try scanner.readString()) }
            default:
                try scanner.skipUnknownField(key)
            }
        }
    }
}

@Suite struct JSONScannerStructureTests {
    @Test func objectsArraysAndWhitespace() throws {
        let json = " {\t\"a\" :\r\n1 , \"b\":[ true ,false ] ,\"c\":{}, \"d\":[]}\n "
        let result = try scanJSON(json) { s in
            var seen: [String] = []
            try s.beginObject()
            while let key = try s.nextKey() {
                seen.append(key)
                switch key {
                case "a": #expect(try s.readInt32() == 1)
                case "b":
                    try s.beginArray()
                    var values: [Bool] = []
                    while try s.nextArrayElement() { values.append(try s.readBool()) }
                    #expect(values == [true, false])
                case "c":
                    try s.beginObject()
                    #expect(try s.nextKey() == nil)
                default:
                    try s.beginArray()
                    #expect(try s.nextArrayElement() == false)
                }
            }
            return seen
        }
        #expect(result == ["a", "b", "c", "d"])
    }

    @Test func onlyFourWhitespaceCharacters() {
        #expect(scanJSONFailure("\u{0C}1") { try $0.readInt32() }?.isSyntax == true)
        #expect(scanJSONFailure("\u{A0}1") { try $0.readInt32() }?.isSyntax == true)
    }

    private func skip(_ json: String, _ options: JSONDecodingOptions = .init()) -> JSONDecodingError? {
        scanJSONFailure(json, options) { try $0.skipValue() }
    }

    @Test func rejectsTrailingAndMissingCommas() {
        #expect(skip(#"{"a":1,}"#) == .syntax(offset: 7, expected: "a key in quotes"))
        #expect(skip("[1,]") == .syntax(offset: 3, expected: "a value after ','"))
        #expect(skip("[,1]")?.isSyntax == true)
        #expect(skip("[1 2]") == .syntax(offset: 3, expected: "',' or ']'"))
        #expect(skip(#"{"a":1 "b":2}"#) == .syntax(offset: 7, expected: "',' or '}'"))
        #expect(skip(#"{"a" 1}"#) == .syntax(offset: 5, expected: "':'"))
        #expect(skip(#"{,}"#)?.isSyntax == true)
        #expect(skip(#"{1:2}"#)?.isSyntax == true)
        #expect(skip("[1,,2]")?.isSyntax == true)
        #expect(skip("[1}")?.isSyntax == true)
    }

    @Test func truncatedInput() {
        for json in [
            "", " ", "{", #"{"a""#, #"{"a":"#, #"{"a":1"#, #"{"a":1,"#, "[", "[1", "[1,", #""abc"#, "tru", "-",
            #""\u00"#,
        ] {
            #expect(skip(json) == .unexpectedEnd, "\(json)")
        }
    }

    @Test func skipsAnyValue() throws {
        let json = #"{"a":[1,{"b":null,"c":"x\u0041"},[[]],-1.5e3,true],"d":{"e":{"f":false}},"g":"é"}"#
        try scanJSON(json) { try $0.skipValue() }
        for scalar in ["0", "-0.5E+10", "null", "true", "false", #""""#, "[]", "{}"] {
            try scanJSON(scalar) { try $0.skipValue() }
        }
        #expect(skip("nul") == .unexpectedEnd)
        #expect(skip("nulL")?.isSyntax == true)
        #expect(skip("True")?.isSyntax == true)
        #expect(skip("undefined")?.isSyntax == true)
    }

    @Test func skipInsideAnObject() throws {
        let b = try scanJSON(#"{"x":[{"y":[1,2]}],"b":7}"#) { s in
            var b: Int32 = 0
            try s.beginObject()
            while let key = try s.nextKey() {
                if key == "b" { b = try s.readInt32() } else { try s.skipValue() }
            }
            return b
        }
        #expect(b == 7)
    }

    @Test func depthLimit() throws {
        let options = JSONDecodingOptions(maxDepth: 3)
        #expect(skip("[[[]]]", options) == nil)
        #expect(skip(#"{"a":{"b":[]}}"#, options) == nil)
        #expect(skip("[[[[]]]]", options) == .tooDeep(limit: 3))
        #expect(skip(#"{"a":{"b":[{}]}}"#, options) == .tooDeep(limit: 3))
        // Depth goes back down as containers close, so siblings do not add up.
        #expect(skip("[[[]],[[]],[[]]]", options) == nil)
        #expect(skip(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) == nil)
        #expect(skip(String(repeating: "[", count: 101) + String(repeating: "]", count: 101)) == .tooDeep(limit: 100))
    }

    @Test func hostileNestingNeitherRecursesNorTraps() {
        let deep = String(repeating: "[", count: 200_000)
        #expect(skip(deep, JSONDecodingOptions(maxDepth: .max)) == .unexpectedEnd)
        #expect(skip(deep) == .tooDeep(limit: 100))
        let objects = String(repeating: #"{"a":"#, count: 50_000)
        #expect(skip(objects) == .tooDeep(limit: 100))
    }

    @Test func readNullConsumesOnlyNull() throws {
        let result = try scanJSON("[null, 5]") { s in
            try s.beginArray()
            #expect(try s.nextArrayElement())
            let first = try s.readNull()
            #expect(try s.nextArrayElement())
            let second = try s.readNull()
            let value = try s.readInt32()
            #expect(try s.nextArrayElement() == false)
            return (first, second, value)
        }
        #expect(result.0 && !result.1 && result.2 == 5)
    }

    @Test func unknownFields() throws {
        let json = #"{"known":1,"extra":{"deep":[1,2,{"x":null}]},"also":"x"}"#
        func read(_ s: inout JSONScanner) throws -> Int32 {
            var known: Int32 = 0
            try s.beginObject()
            while let key = try s.nextKey() {
                if key == "known" { known = try s.readInt32() } else { try s.skipUnknownField(key) }
            }
            return known
        }
        #expect(scanJSONFailure(json) { s in try read(&s) } == .unknownField("extra"))
        #expect(try scanJSON(json, JSONDecodingOptions(ignoreUnknownFields: true)) { s in try read(&s) } == 1)
    }

    @Test func finishRejectsTrailingData() {
        #expect(skip("{} x") == .syntax(offset: 3, expected: "the end of the input"))
        #expect(skip("1 2") == .syntax(offset: 2, expected: "the end of the input"))
        #expect(skip("{}{}") == .syntax(offset: 2, expected: "the end of the input"))
        #expect(skip("{} \n\t\r") == nil)
    }

    @Test func readBool() throws {
        #expect(try scanJSON("true") { try $0.readBool() })
        #expect(try !scanJSON(" false") { try $0.readBool() })
        #expect(scanJSONFailure(#""true""#) { try $0.readBool() }?.isSyntax == true)
        #expect(scanJSONFailure("1") { try $0.readBool() }?.isSyntax == true)
        #expect(scanJSONFailure("truex") { try $0.readBool() }?.isSyntax == true)
    }

    @Test func errorDescriptions() {
        #expect(
            JSONDecodingError.syntax(offset: 3, expected: "':'").description == "invalid JSON at byte 3: expected ':'")
        #expect(JSONDecodingError.unknownField("x").description == #"unknown field "x""#)
        #expect(JSONDecodingError.tooDeep(limit: 100).description == "JSON nested deeper than 100 levels")
        let long = JSONDecodingError.unknownField(String(repeating: "k", count: 1000)).description
        #expect(long.count < 100)
    }
}

@Suite struct JSONScannerStringTests {
    private func string(_ json: String) throws -> String {
        try scanJSON(json) { try $0.readString() }
    }

    private func failure(_ json: [UInt8]) -> JSONDecodingError? {
        scanJSONFailure(json) { try $0.readString() }
    }

    @Test func plainAndEscaped() throws {
        #expect(try string(#""""#) == "")
        #expect(try string(#""hello""#) == "hello")
        #expect(try string(#""a\"b\\c\/d""#) == "a\"b\\c/d")
        #expect(try string(#""\b\f\n\r\t""#) == "\u{08}\u{0C}\n\r\t")
        #expect(try string(#""\u0041\u00e9\u20AC\u0000""#) == "Aé€\u{0}")
        #expect(try string("\"é😀\u{7F}\"") == "é😀\u{7F}")
        #expect(try string(#""mixé\n😀""#) == "mixé\n😀")
    }

    @Test func surrogatePairs() throws {
        #expect(try string(#""\ud83d\ude00""#) == "😀")
        #expect(try string(#""x\uD83D\uDE00y""#) == "x😀y")
        #expect(try string(#""\udbff\udfff""#) == "\u{10FFFF}")
        #expect(failure(Array(#""\ud83d""#.utf8)) == .invalidUTF8(offset: 1))
        #expect(failure(Array(#""\ude00""#.utf8)) == .invalidUTF8(offset: 1))
        #expect(failure(Array(#""\ud83dx""#.utf8)) == .invalidUTF8(offset: 1))
        #expect(failure(Array(#""\ud83d\u0041""#.utf8)) == .invalidUTF8(offset: 1))
        #expect(failure(Array(#""\ud83d\ud83d""#.utf8)) == .invalidUTF8(offset: 1))
    }

    @Test func badEscapesAndControlCharacters() {
        #expect(failure(Array(#""\x""#.utf8)) == .syntax(offset: 2, expected: "an escape character"))
        #expect(failure(Array(#""\u12G4""#.utf8)) == .syntax(offset: 5, expected: "a hex digit"))
        #expect(failure(Array(#""\U0041""#.utf8))?.isSyntax == true)
        #expect(failure(Array("\"a\nb\"".utf8)) == .syntax(offset: 2, expected: "an escaped control character"))
        #expect(failure(Array("\"\\n\u{1F}\"".utf8))?.isSyntax == true)
        #expect(failure(Array("\"\t\"".utf8))?.isSyntax == true)
    }

    @Test func invalidUTF8() {
        let quote = UInt8(ascii: "\"")
        for bad: [UInt8] in [
            [0xFF], [0x80], [0xC3], [0xC0, 0xAF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80],
            [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98],
        ] {
            #expect(failure([quote] + bad + [quote]) == .invalidUTF8(offset: 0), "\(bad)")
            // Also when the string has escapes, which takes the copying path.
            #expect(failure([quote, UInt8(ascii: "\\"), UInt8(ascii: "n")] + bad + [quote]) == .invalidUTF8(offset: 0))
            // And in a value that is only skipped.
            let array = [UInt8(ascii: "["), quote] + bad + [quote, UInt8(ascii: "]")]
            let skipped = scanJSONFailure(array) { try $0.skipValue() }
            #expect(skipped == .invalidUTF8(offset: 1))
        }
        #expect(failure([quote, 0xE2, 0x82, 0xAC, quote]) == nil)
    }

    @Test func notAString() {
        #expect(failure(Array("1".utf8)) == .syntax(offset: 0, expected: "a string"))
        #expect(failure(Array("'a'".utf8))?.isSyntax == true)
        #expect(failure(Array(#""abc"#.utf8)) == .unexpectedEnd)
        #expect(failure(Array(#""abc\"#.utf8)) == .unexpectedEnd)
    }

    @Test func keysUseTheSameRules() throws {
        let key = try scanJSON(#"{"\u0061\ud83d\ude00":1}"#) { s in
            try s.beginObject()
            let key = try s.nextKey()
            try s.skipValue()
            #expect(try s.nextKey() == nil)
            return key
        }
        #expect(key == "a😀")
    }
}

@Suite struct JSONScannerNumberTests {
    private func int32(_ json: String) throws -> Int32 {
        try scanJSON(json) { try $0.readInt32() }
    }

    private func int64(_ json: String) throws -> Int64 {
        try scanJSON(json) { try $0.readInt64() }
    }

    private func uint64(_ json: String) throws -> UInt64 {
        try scanJSON(json) { try $0.readUInt64() }
    }

    private func int32Failure(_ json: String) -> JSONDecodingError? {
        scanJSONFailure(json) { try $0.readInt32() }
    }

    @Test func int32Values() throws {
        #expect(try int32("0") == 0)
        #expect(try int32("-0") == 0)
        #expect(try int32("2147483647") == .max)
        #expect(try int32("-2147483648") == .min)
        #expect(try int32(#""-2147483648""#) == .min)
        #expect(try int32(#""42""#) == 42)
        #expect(int32Failure("2147483648")?.isInvalidValue == true)
        #expect(int32Failure("-2147483649")?.isInvalidValue == true)
        #expect(int32Failure(#""2147483648""#)?.isInvalidValue == true)
    }

    @Test func integralExponentAndFractionForms() throws {
        #expect(try int32("1e3") == 1000)
        #expect(try int32("1E+3") == 1000)
        #expect(try int32(#""1.0""#) == 1)
        #expect(try int32("10e-1") == 1)
        #expect(try int32("1.5e1") == 15)
        #expect(try int32("-2.50e2") == -250)
        #expect(try int32("0.0e99999999999999999999") == 0)
        #expect(try int32("0e-5") == 0)
        #expect(try int32("2147483.647e3") == .max)
        #expect(try int64("9.223372036854775807e18") == .max)
        #expect(try uint64("1e19") == 10_000_000_000_000_000_000)
        #expect(int32Failure("1.5")?.isInvalidValue == true)
        #expect(int32Failure("1e-1")?.isInvalidValue == true)
        #expect(int32Failure("0.1e1000000000000")?.isInvalidValue == true)
        #expect(int32Failure("1e10")?.isInvalidValue == true)
        #expect(int32Failure("1e99999999999999999999")?.isInvalidValue == true)
        #expect(int32Failure("1e-99999999999999999999")?.isInvalidValue == true)
    }

    @Test func strictNumberGrammar() {
        for bad in ["+1", "01", "-01", ".5", "0x10", "NaN", "Infinity", "-Infinity", "1_000", "- 1", "1.x", "1e+]"] {
            #expect(int32Failure(bad)?.isSyntax == true, "\(bad)")
        }
        for cut in ["1.", "1e", "1e+", "-"] {
            #expect(int32Failure(cut) == .unexpectedEnd, "\(cut)")
        }
        for bad in [#""+1""#, #"" 1""#, #""1 ""#, #""""#, #""0x10""#, #""01""#, #""1.""#, #""abc""#] {
            #expect(int32Failure(bad)?.isInvalidValue == true, "\(bad)")
        }
        #expect(int32Failure("true")?.isSyntax == true)
        #expect(int32Failure("null")?.isSyntax == true)
    }

    @Test func unsigned32() throws {
        #expect(try scanJSON("4294967295") { try $0.readUInt32() } == .max)
        #expect(scanJSONFailure("4294967296") { try $0.readUInt32() }?.isInvalidValue == true)
        #expect(scanJSONFailure("-1") { try $0.readUInt32() }?.isInvalidValue == true)
        #expect(try scanJSON("-0") { try $0.readUInt32() } == 0)
    }

    @Test func sixtyFourBitExtremes() throws {
        #expect(try int64(#""-9223372036854775808""#) == .min)
        #expect(try int64(#""9223372036854775807""#) == .max)
        #expect(try int64("-9223372036854775808") == .min)
        // Exact, not through Double: 2^53 + 1.
        #expect(try int64("9007199254740993") == 9_007_199_254_740_993)
        #expect(try uint64(#""18446744073709551615""#) == .max)
        #expect(try uint64("18446744073709551615") == .max)
        #expect(scanJSONFailure(#""9223372036854775808""#) { try $0.readInt64() }?.isInvalidValue == true)
        #expect(scanJSONFailure(#""-9223372036854775809""#) { try $0.readInt64() }?.isInvalidValue == true)
        #expect(scanJSONFailure(#""18446744073709551616""#) { try $0.readUInt64() }?.isInvalidValue == true)
        #expect(scanJSONFailure("1e20") { try $0.readUInt64() }?.isInvalidValue == true)
        #expect(scanJSONFailure("-1") { try $0.readUInt64() }?.isInvalidValue == true)
        #expect(scanJSONFailure("000") { try $0.readUInt64() }?.isSyntax == true)
    }

    private func double(_ json: String) throws -> Double {
        try scanJSON(json) { try $0.readDouble() }
    }

    private func float(_ json: String) throws -> Float {
        try scanJSON(json) { try $0.readFloat() }
    }

    @Test func doubles() throws {
        #expect(try double("1.5") == 1.5)
        #expect(try double("-1.5E-3") == -0.0015)
        #expect(try double(#""2.5""#) == 2.5)
        #expect(try double("1e308") == 1e308)
        #expect(try double("5e-324") == .leastNonzeroMagnitude)
        #expect(try double("1e-400") == 0)
        #expect(try double("17") == 17)
        let negativeZero = try double("-0.0")
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(try double(#""-0""#).sign == .minus)
        #expect(try double(#""NaN""#).isNaN)
        #expect(try double(#""Infinity""#) == .infinity)
        #expect(try double(#""-Infinity""#) == -.infinity)
        for bad in [#""nan""#, #""inf""#, #""+Infinity""#, #""Infinity ""#, "1e400", "-1e400", #""1e400""#] {
            #expect(scanJSONFailure(bad) { try $0.readDouble() }?.isInvalidValue == true, "\(bad)")
        }
        for bad in ["NaN", "Infinity", "-Infinity", "inf", ".1", "1.e5"] {
            #expect(scanJSONFailure(bad) { try $0.readDouble() }?.isSyntax == true, "\(bad)")
        }
    }

    @Test func floatRange() throws {
        #expect(try float("3.4028235e38") == .greatestFiniteMagnitude)
        #expect(try float("-3.4028235e38") == -.greatestFiniteMagnitude)
        #expect(try float("0.1") == Float(0.1))
        #expect(try float("1e-50") == 0)
        #expect(try float(#""-Infinity""#) == -.infinity)
        #expect(try float(#""NaN""#).isNaN)
        #expect(try float("-0").sign == .minus)
        for bad in ["3.5e38", "-3.5e38", "1e39", #""1e39""#] {
            #expect(scanJSONFailure(bad) { try $0.readFloat() }?.isInvalidValue == true, "\(bad)")
        }
        // The same text is a fine double.
        #expect(try double("3.5e38") == 3.5e38)
    }

    @Test func writerOutputReadsBack() throws {
        for value in [0.1, -0.0, 1e300, .leastNonzeroMagnitude, 123.456, Double.greatestFiniteMagnitude] {
            var writer = JSONWriter()
            writer.double(value)
            let back = try double(writer.string)
            #expect(back == value && back.sign == value.sign)
        }
        for value: Float in [0.1, 3.4028235e38, .leastNonzeroMagnitude, -7.25] {
            var writer = JSONWriter()
            writer.float(value)
            #expect(try float(writer.string) == value)
        }
    }

    @Test func enums() throws {
        func read(_ json: String, _ options: JSONDecodingOptions = .init()) throws -> Mood? {
            try scanJSON(json, options) { try $0.readEnum(Mood.self) }
        }
        #expect(try read(#""MOOD_HAPPY""#) == .happy)
        #expect(try read("1") == .happy)
        #expect(try read("0") == .unspecified)
        #expect(try read("-7") == .unrecognized(-7))
        #expect(try read("1e1") == .unrecognized(10))
        #expect(try read(#""MOOD_SAD""#, JSONDecodingOptions(ignoreUnknownFields: true)) == nil)
        #expect(scanJSONFailure(#""MOOD_SAD""#) { try $0.readEnum(Mood.self) } == .unknownEnumValue("MOOD_SAD"))
        #expect(scanJSONFailure(#""1""#) { try $0.readEnum(Mood.self) } == .unknownEnumValue("1"))
        #expect(scanJSONFailure("true") { try $0.readEnum(Mood.self) }?.isSyntax == true)
        #expect(scanJSONFailure("2147483648") { try $0.readEnum(Mood.self) }?.isInvalidValue == true)
    }

    @Test func mapKeys() throws {
        #expect(try JSONScanner.int32Key("-12") == -12)
        #expect(try JSONScanner.int32Key("2147483647") == .max)
        #expect(try JSONScanner.int64Key("-9223372036854775808") == .min)
        #expect(try JSONScanner.uint32Key("4294967295") == .max)
        #expect(try JSONScanner.uint64Key("18446744073709551615") == .max)
        #expect(try JSONScanner.boolKey("true"))
        #expect(try !JSONScanner.boolKey("false"))
        for bad in ["2147483648", "1.0", "1e2", " 1", "+1", "01", "", "x", "0x1"] {
            #expect(throws: JSONDecodingError.self) { try JSONScanner.int32Key(bad) }
        }
        #expect(throws: JSONDecodingError.self) { try JSONScanner.uint32Key("-1") }
        #expect(throws: JSONDecodingError.self) { try JSONScanner.uint64Key("18446744073709551616") }
        #expect(throws: JSONDecodingError.self) { try JSONScanner.boolKey("True") }
        #expect(throws: JSONDecodingError.self) { try JSONScanner.boolKey("1") }
    }
}

@Suite struct WireMessageJSONTests {
    @Test func roundTrip() throws {
        var probe = Probe()
        probe.name = "a\"b"
        probe.count = .min
        probe.tags = ["x", "y"]
        let json = try probe.jsonString()
        #expect(json == #"{"name":"a\"b","count":"-9223372036854775808","tags":["x","y"]}"#)
        #expect(try Probe(jsonString: json) == probe)
        #expect(try Probe(jsonUTF8Bytes: try probe.jsonUTF8Bytes()) == probe)
        #expect(try Probe(jsonString: " null ") == Probe())
        #expect(try Probe(jsonString: #"{"name":null,"tags":null}"#) == Probe())
    }

    @Test func entryPointsCheckLimitsAndTrailingData() {
        #expect(throws: JSONDecodingError.tooLarge(size: 13, limit: 12)) {
            try Probe(jsonString: #"{"name":"ab"}"#, options: JSONDecodingOptions(maxSize: 12))
        }
        #expect(throws: JSONDecodingError.syntax(offset: 3, expected: "the end of the input")) {
            try Probe(jsonString: "{} {}")
        }
        #expect(throws: JSONDecodingError.unknownField("other")) { try Probe(jsonString: #"{"other":1}"#) }
        #expect(throws: JSONDecodingError.unexpectedEnd) { try Probe(jsonString: "") }
        #expect(throws: JSONDecodingError.syntax(offset: 0, expected: "an object")) { try Probe(jsonString: "[]") }
    }

    @Test func mergesIntoExistingValues() throws {
        var probe = Probe()
        probe.tags = ["a"]
        try Array(#"{"tags":["b"],"count":3}"#.utf8).withUnsafeBufferPointer { (utf8) throws(JSONDecodingError) in
            try probe.merge(jsonUTF8Bytes: UnsafeRawBufferPointer(utf8))
        }
        #expect(probe.tags == ["a", "b"])
        #expect(probe.count == 3)
    }
}
