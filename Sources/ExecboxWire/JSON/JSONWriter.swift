/// Builds canonical proto3 JSON as UTF-8 bytes; generated `encodeJSON(to:)` methods drive it.
///
/// Separators take care of themselves: a key or a value needs a comma before it exactly when
/// the byte written last ends an earlier member (anything but `{`, `[`, `:` or nothing), so the
/// writer needs no stack of container states.
public struct JSONWriter: Sendable {
    public let options: JSONEncodingOptions
    private var output: [UInt8] = []
    /// The first value that has no JSON form (an out-of-range Timestamp or Duration); the
    /// entry points throw it instead of returning output.
    public private(set) var failure: JSONEncodingError?

    public init(options: JSONEncodingOptions = .init(), reservingCapacity capacity: Int = 256) {
        self.options = options
        output.reserveCapacity(capacity)
    }

    /// The JSON written so far.
    public var bytes: [UInt8] { output }

    public var string: String { String(decoding: output, as: UTF8.self) }

    // MARK: Structure

    public mutating func beginObject() {
        separate()
        output.append(UInt8(ascii: "{"))
    }

    public mutating func endObject() {
        output.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        separate()
        output.append(UInt8(ascii: "["))
    }

    public mutating func endArray() {
        output.append(UInt8(ascii: "]"))
    }

    /// A field's key: its JSON name, or its `.proto` name with `preserveProtoFieldNames`.
    /// Field names are identifiers, so they are written without escaping.
    public mutating func field(json: String, proto: String) {
        separate()
        output.append(UInt8(ascii: "\""))
        output.append(contentsOf: (options.preserveProtoFieldNames ? proto : json).utf8)
        output.append(UInt8(ascii: "\""))
        output.append(UInt8(ascii: ":"))
    }

    /// A map entry's key, already turned into its string form.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        output.append(UInt8(ascii: ":"))
    }

    /// Integer and bool map keys, written without building a `String` first.
    public mutating func key(_ key: Int64) {
        separate()
        output.append(UInt8(ascii: "\""))
        DecimalDigits.append(key, into: &output)
        output.append(contentsOf: "\":".utf8)
    }

    public mutating func key(_ key: UInt64) {
        separate()
        output.append(UInt8(ascii: "\""))
        DecimalDigits.append(key, into: &output)
        output.append(contentsOf: "\":".utf8)
    }

    public mutating func key(_ key: Int32) { self.key(Int64(key)) }

    public mutating func key(_ key: UInt32) { self.key(UInt64(key)) }

    public mutating func key(_ key: Bool) { self.key(key ? "true" : "false") }

    // MARK: Scalars

    public mutating func null() {
        separate()
        output.append(contentsOf: "null".utf8)
    }

    public mutating func bool(_ value: Bool) {
        separate()
        output.append(contentsOf: value ? "true".utf8 : "false".utf8)
    }

    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
    }

    public mutating func int32(_ value: Int32) {
        separate()
        DecimalDigits.append(Int64(value), into: &output)
    }

    public mutating func uint32(_ value: UInt32) {
        separate()
        DecimalDigits.append(UInt64(value), into: &output)
    }

    /// 64-bit integers are strings, since JavaScript numbers lose precision past 2^53.
    public mutating func int64(_ value: Int64) {
        separate()
        output.append(UInt8(ascii: "\""))
        DecimalDigits.append(value, into: &output)
        output.append(UInt8(ascii: "\""))
    }

    public mutating func uint64(_ value: UInt64) {
        separate()
        output.append(UInt8(ascii: "\""))
        DecimalDigits.append(value, into: &output)
        output.append(UInt8(ascii: "\""))
    }

    /// The shortest text that reads back as the same `Float`; non-finite values as strings.
    public mutating func float(_ value: Float) {
        separate()
        if value.isFinite {
            appendNumber(value.description)
        } else {
            appendNonFinite(isNaN: value.isNaN, negative: value < 0)
        }
    }

    /// The shortest text that reads back as the same `Double`; non-finite values as strings.
    public mutating func double(_ value: Double) {
        separate()
        if value.isFinite {
            appendNumber(value.description)
        } else {
            appendNonFinite(isNaN: value.isNaN, negative: value < 0)
        }
    }

    /// Standard base64 with padding, in a string.
    public mutating func bytes(_ value: [UInt8]) {
        separate()
        output.append(UInt8(ascii: "\""))
        value.withUnsafeBufferPointer { Base64.encode($0, into: &output) }
        output.append(UInt8(ascii: "\""))
    }

    /// The value's `.proto` name, or its number when this build does not know it.
    public mutating func enumValue<E: WireEnum>(_ value: E) {
        if let name = value.protoName {
            string(name)
        } else {
            int32(value.rawValue)
        }
    }

    // MARK: Well-known types

    /// True if a Timestamp lies between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z
    /// with nanos in 0..<1e9; ``timestamp(seconds:nanos:)`` writes other values best effort.
    public static func isValidTimestamp(seconds: Int64, nanos: Int32) -> Bool {
        JSONTimestamp.isValid(seconds: seconds, nanos: nanos)
    }

    /// True if a Duration lies within ±315,576,000,000 s with nanos of the same sign as seconds.
    public static func isValidDuration(seconds: Int64, nanos: Int32) -> Bool {
        JSONDuration.isValid(seconds: seconds, nanos: nanos)
    }

    /// RFC 3339 in UTC, with 0, 3, 6 or 9 fraction digits. Out of range: records ``failure``.
    public mutating func timestamp(seconds: Int64, nanos: Int32) {
        if failure == nil && !JSONTimestamp.isValid(seconds: seconds, nanos: nanos) {
            failure = .timestampOutOfRange(seconds: seconds, nanos: nanos)
        }
        separate()
        output.append(UInt8(ascii: "\""))
        JSONTimestamp.format(seconds: seconds, nanos: nanos, into: &output)
        output.append(UInt8(ascii: "\""))
    }

    /// Decimal seconds with an `s`, with 0, 3, 6 or 9 fraction digits. Out of range: records
    /// ``failure``.
    public mutating func duration(seconds: Int64, nanos: Int32) {
        if failure == nil && !JSONDuration.isValid(seconds: seconds, nanos: nanos) {
            failure = .durationOutOfRange(seconds: seconds, nanos: nanos)
        }
        separate()
        output.append(UInt8(ascii: "\""))
        JSONDuration.format(seconds: seconds, nanos: nanos, into: &output)
        output.append(UInt8(ascii: "\""))
    }

    // MARK: Helpers

    private mutating func separate() {
        switch output.last {
        case nil, UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ":"): break
        default: output.append(UInt8(ascii: ","))
        }
    }

    /// Swift prints whole numbers as `2.0`; JSON readers do not need the `.0`.
    private mutating func appendNumber(_ text: String) {
        let utf8 = text.utf8
        if utf8.count > 2, utf8.last == UInt8(ascii: "0"),
            utf8[utf8.index(utf8.endIndex, offsetBy: -2)] == UInt8(ascii: ".")
        {
            output.append(contentsOf: utf8.dropLast(2))
        } else {
            output.append(contentsOf: utf8)
        }
    }

    private mutating func appendNonFinite(isNaN: Bool, negative: Bool) {
        appendQuoted(isNaN ? "NaN" : negative ? "-Infinity" : "Infinity")
    }

    /// Escapes `"`, `\` and control characters; everything else is copied as UTF-8.
    private mutating func appendQuoted(_ value: String) {
        output.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                appendEscape(byte)
                runStart = i + 1
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscape(_ byte: UInt8) {
        let short: UInt8? =
            switch byte {
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            case 0x08: UInt8(ascii: "b")
            case 0x0C: UInt8(ascii: "f")
            case 0x0A: UInt8(ascii: "n")
            case 0x0D: UInt8(ascii: "r")
            case 0x09: UInt8(ascii: "t")
            default: nil
            }
        output.append(UInt8(ascii: "\\"))
        if let short {
            output.append(short)
        } else {
            let hex = Self.hexDigits
            output.append(contentsOf: [
                UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)],
            ])
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
