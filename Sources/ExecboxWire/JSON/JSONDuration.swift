/// The JSON form of `google.protobuf.Duration`: signed decimal seconds with an `s`, like `-1.500s`.
enum JSONDuration {
    /// About 10,000 years, the range the Duration type documents.
    static let maxSeconds: Int64 = 315_576_000_000

    /// Both parts within range and, when both are nonzero, of the same sign.
    static func isValid(seconds: Int64, nanos: Int32) -> Bool {
        (-maxSeconds...maxSeconds).contains(seconds) && (-999_999_999...999_999_999).contains(nanos)
            && (seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0))
    }

    /// Appends the text (without quotes). Parts of mixed sign or nanos past a second are
    /// normalised first, and out-of-range values written as they are, never trapping.
    static func format(seconds: Int64, nanos: Int32, into output: inout [UInt8]) {
        var seconds = seconds &+ Int64(nanos / 1_000_000_000)
        var nanos = nanos % 1_000_000_000
        if seconds > 0 && nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        } else if seconds < 0 && nanos > 0 {
            seconds += 1
            nanos -= 1_000_000_000
        }
        if seconds < 0 || nanos < 0 { output.append(UInt8(ascii: "-")) }
        DecimalDigits.append(seconds.magnitude, into: &output)
        DecimalDigits.appendFraction(nanos: nanos.magnitude, into: &output)
        output.append(UInt8(ascii: "s"))
    }

    /// Parses `-?digits(.digits{1,9})?s`; nil if malformed or out of range. The sign applies to
    /// both parts, so `-0.5s` is 0 seconds and −500,000,000 nanos.
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> (seconds: Int64, nanos: Int32)? {
        var i = 0
        let negative = text.count > 0 && text[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let secondsStart = i
        while i < text.count, text[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        // Twelve digits hold the largest valid value; more could overflow the parse.
        guard i - secondsStart <= 12, let magnitude = DecimalDigits.parse(text, secondsStart..<i),
            magnitude <= maxSeconds
        else { return nil }
        var nanos: Int32 = 0
        if i < text.count, text[i] == UInt8(ascii: ".") {
            let start = i + 1
            i = start
            while i < text.count, text[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard let n = DecimalDigits.parseNanos(text, start..<i) else { return nil }
            nanos = n
        }
        guard i == text.count - 1, text[i] == UInt8(ascii: "s") else { return nil }
        return negative ? (-magnitude, -nanos) : (magnitude, nanos)
    }
}
