extension JSONScanner {
    // MARK: Integers

    /// A JSON number or a string holding one, with an integral value in range: `1e3` and `"2.0"`
    /// are accepted, `1.5` is not.
    public mutating func readInt32() throws(JSONDecodingError) -> Int32 {
        try readInteger(Int32.self, "int32")
    }

    public mutating func readUInt32() throws(JSONDecodingError) -> UInt32 {
        try readInteger(UInt32.self, "uint32")
    }

    public mutating func readInt64() throws(JSONDecodingError) -> Int64 {
        try readInteger(Int64.self, "int64")
    }

    public mutating func readUInt64() throws(JSONDecodingError) -> UInt64 {
        try readInteger(UInt64.self, "uint64")
    }

    private mutating func readInteger<T: FixedWidthInteger>(
        _ type: T.Type,
        _ name: String
    ) throws(JSONDecodingError) -> T {
        let offset = index
        if peek() == UInt8(ascii: "\"") {
            return try withStringToken { (text, _, _) throws(JSONDecodingError) in
                guard JSONNumberText.isNumber(text) else {
                    throw .invalidValue("expected \(name) at byte \(offset), found \"\(Self.excerpt(text))\"")
                }
                return try Self.integer(text, T.self, name)
            }
        }
        let text = try readBareNumber()
        return try Self.integer(text, T.self, name)
    }

    static func integer<T: FixedWidthInteger>(
        _ text: UnsafeBufferPointer<UInt8>,
        _ type: T.Type,
        _ name: String
    ) throws(JSONDecodingError) -> T {
        switch JSONNumberText.integer(text) {
        case .value(let negative, let magnitude):
            if negative {
                // The magnitude of T.min is T.max + 1; for unsigned types only 0, which is never negative.
                if T.isSigned, magnitude <= UInt64(T.max) + 1 { return T(truncatingIfNeeded: 0 &- magnitude) }
            } else if magnitude <= UInt64(T.max) {
                return T(magnitude)
            }
            throw .invalidValue("\(excerpt(text)) is out of range for \(name)")
        case .outOfRange:
            throw .invalidValue("\(excerpt(text)) is out of range for \(name)")
        case .notIntegral:
            throw .invalidValue("\(excerpt(text)) is not a whole number, as \(name) requires")
        }
    }

    // MARK: Floating point

    /// A JSON number or a string holding one, or one of the strings `"NaN"`, `"Infinity"`,
    /// `"-Infinity"`. A finite number beyond the `Float` range is an error, not infinity.
    public mutating func readFloat() throws(JSONDecodingError) -> Float {
        try readFloatingPoint(Float.self, "float")
    }

    public mutating func readDouble() throws(JSONDecodingError) -> Double {
        try readFloatingPoint(Double.self, "double")
    }

    private mutating func readFloatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ type: T.Type,
        _ name: String
    ) throws(JSONDecodingError) -> T {
        let offset = index
        if peek() == UInt8(ascii: "\"") {
            return try withStringToken { (text, _, _) throws(JSONDecodingError) in
                switch String(decoding: text, as: UTF8.self) {
                case "NaN": return T.nan
                case "Infinity": return T.infinity
                case "-Infinity": return -T.infinity
                default:
                    guard JSONNumberText.isNumber(text) else {
                        throw .invalidValue("expected \(name) at byte \(offset), found \"\(Self.excerpt(text))\"")
                    }
                    return try Self.floatingPoint(text, T.self, name)
                }
            }
        }
        let text = try readBareNumber()
        return try Self.floatingPoint(text, T.self, name)
    }

    private static func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ text: UnsafeBufferPointer<UInt8>,
        _ type: T.Type,
        _ name: String
    ) throws(JSONDecodingError) -> T {
        // The text already matched the JSON grammar, which the stdlib parser accepts as is.
        guard let value = T(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw .invalidValue("\(excerpt(text)) is out of range for \(name)")
        }
        return value
    }

    // MARK: Enums

    /// An enum value by `.proto` name, or by number (kept as unrecognised if this build does not
    /// know it). An unknown name is nil with ``JSONDecodingOptions/ignoreUnknownFields`` (the
    /// caller then leaves the field unset), otherwise an error.
    public mutating func readEnum<E: WireEnum>(_ type: E.Type) throws(JSONDecodingError) -> E? {
        guard let byte = peek() else { throw .unexpectedEnd }
        switch byte {
        case UInt8(ascii: "\""):
            let name = try readStringToken()
            if let value = E(protoName: name) { return value }
            if options.ignoreUnknownFields { return nil }
            throw .unknownEnumValue(name)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return E(rawValue: try readInt32())
        default:
            throw syntaxError(expected: "an enum name or number")
        }
    }

    // MARK: Map keys

    /// Map keys arrive as strings; integer keys must be plain decimal integers such as `"-12"`.
    public static func int32Key(_ key: String) throws(JSONDecodingError) -> Int32 {
        try integerKey(key, Int32.self, "int32")
    }

    public static func uint32Key(_ key: String) throws(JSONDecodingError) -> UInt32 {
        try integerKey(key, UInt32.self, "uint32")
    }

    public static func int64Key(_ key: String) throws(JSONDecodingError) -> Int64 {
        try integerKey(key, Int64.self, "int64")
    }

    public static func uint64Key(_ key: String) throws(JSONDecodingError) -> UInt64 {
        try integerKey(key, UInt64.self, "uint64")
    }

    public static func boolKey(_ key: String) throws(JSONDecodingError) -> Bool {
        switch key {
        case "true": return true
        case "false": return false
        default: throw .invalidValue("map key \"\(JSONDecodingError.excerpt(key))\" is not a bool")
        }
    }

    private static func integerKey<T: FixedWidthInteger>(
        _ key: String,
        _ type: T.Type,
        _ name: String
    ) throws(JSONDecodingError) -> T {
        var key = key
        // `withUTF8` only rethrows, so the typed error is carried out as a result.
        let result: Result<T, JSONDecodingError> = key.withUTF8 { text in
            let isPlainInteger =
                JSONNumberText.isNumber(text)
                && !text.contains { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }
            guard isPlainInteger else {
                return .failure(.invalidValue("map key \"\(excerpt(text))\" is not an \(name)"))
            }
            do throws(JSONDecodingError) {
                return .success(try integer(text, T.self, name))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    // MARK: Helpers

    /// The unquoted number at the current position, checked against the JSON grammar.
    mutating func readBareNumber() throws(JSONDecodingError) -> UnsafeBufferPointer<UInt8> {
        guard let first = peek(), first == UInt8(ascii: "-") || first &- UInt8(ascii: "0") < 10 else {
            throw syntaxError(expected: "a number")
        }
        let rest = UnsafeBufferPointer(rebasing: input[index...])
        switch JSONNumberText.match(rest) {
        case .number(let length):
            index += length
            return UnsafeBufferPointer(rebasing: rest[0..<length])
        case .invalid(let at):
            index += at
            throw syntaxError(expected: "a digit")
        }
    }

    /// Enough of a value for an error message, without echoing a whole hostile input.
    static func excerpt(_ text: UnsafeBufferPointer<UInt8>) -> String {
        JSONDecodingError.excerpt(String(decoding: text.prefix(80), as: UTF8.self))
    }
}
