extension JSONScanner {
    /// Base64 in a string, standard or URL-safe, padding optional.
    public mutating func readBytes() throws(JSONDecodingError) -> [UInt8] {
        try readStringValue("bytes") { text throws(JSONDecodingError) in
            guard let bytes = Base64.decode(text) else {
                throw .invalidValue("\"\(Self.excerpt(text))\" is not base64")
            }
            return bytes
        }
    }

    /// A `google.protobuf.Timestamp`: RFC 3339 with `Z` or a `±hh:mm` offset and 0–9 fraction
    /// digits, between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z.
    public mutating func readTimestamp() throws(JSONDecodingError) -> (seconds: Int64, nanos: Int32) {
        try readStringValue("a timestamp") { text throws(JSONDecodingError) in
            guard let value = JSONTimestamp.parse(text) else {
                throw .invalidValue("\"\(Self.excerpt(text))\" is not an RFC 3339 timestamp in range")
            }
            return value
        }
    }

    /// A `google.protobuf.Duration` such as `"-1.5s"`, within ±315,576,000,000 seconds; the sign
    /// applies to both parts.
    public mutating func readDuration() throws(JSONDecodingError) -> (seconds: Int64, nanos: Int32) {
        try readStringValue("a duration") { text throws(JSONDecodingError) in
            guard let value = JSONDuration.parse(text) else {
                throw .invalidValue("\"\(Self.excerpt(text))\" is not a duration in range")
            }
            return value
        }
    }

    /// Passes a string value's bytes to a parser that only accepts ASCII, so their UTF-8 need
    /// not be checked first.
    private mutating func readStringValue<R>(
        _ expected: String,
        _ parse: (UnsafeBufferPointer<UInt8>) throws(JSONDecodingError) -> R
    ) throws(JSONDecodingError) -> R {
        guard peek() == UInt8(ascii: "\"") else { throw syntaxError(expected: "\(expected) in a string") }
        return try withStringToken { (text, _, _) throws(JSONDecodingError) in try parse(text) }
    }
}
