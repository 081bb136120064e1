/// Decimal text appended straight into a byte buffer, so numbers cost no `String`.
enum DecimalDigits {
    static func append(_ value: UInt64, into output: inout [UInt8]) {
        if value < 100 {
            let v = UInt8(truncatingIfNeeded: value)
            if v >= 10 { output.append(UInt8(ascii: "0") + v / 10) }
            output.append(UInt8(ascii: "0") + v % 10)
            return
        }
        // Make room for all the digits, then fill them in from the lowest.
        let count = count(of: value)
        let end = output.count + count
        output.append(contentsOf: repeatElement(0, count: count))
        output.withUnsafeMutableBufferPointer { buffer in
            var v = value
            var i = end
            while v != 0 {
                let (q, r) = v.quotientAndRemainder(dividingBy: 10)
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: r)
                v = q
            }
        }
    }

    static func count(of value: UInt64) -> Int {
        var digits = 1
        var v = value
        while v >= 10 {
            v /= 10
            digits += 1
        }
        return digits
    }

    static func append(_ value: Int64, into output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        append(value.magnitude, into: &output)
    }

    /// At least `width` digits, zero-padded on the left.
    static func append(_ value: UInt64, width: Int, into output: inout [UInt8]) {
        if width == 2, value < 100 {
            // The common case in dates and times.
            let v = UInt8(truncatingIfNeeded: value)
            output.append(UInt8(ascii: "0") + v / 10)
            output.append(UInt8(ascii: "0") + v % 10)
            return
        }
        let digits = count(of: value)
        if digits < width { output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits)) }
        append(value, into: &output)
    }

    /// A fraction of a second: nothing for whole seconds, else a dot and 3, 6 or 9 digits, the
    /// fewest that are exact, as every protobuf runtime writes Timestamp and Duration.
    static func appendFraction(nanos: UInt32, into output: inout [UInt8]) {
        guard nanos != 0 else { return }
        output.append(UInt8(ascii: "."))
        if nanos % 1_000_000 == 0 {
            append(UInt64(nanos / 1_000_000), width: 3, into: &output)
        } else if nanos % 1000 == 0 {
            append(UInt64(nanos / 1000), width: 6, into: &output)
        } else {
            append(UInt64(nanos), width: 9, into: &output)
        }
    }

    /// The value of the ASCII digits `text[range]`, or nil if any byte is not a digit.
    /// Callers keep ranges short enough (at most 18 digits) that the value cannot overflow.
    static func parse(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        guard range.lowerBound >= 0, range.upperBound <= text.count, !range.isEmpty else { return nil }
        var value: Int64 = 0
        for i in range {
            let d = text[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value * 10 + Int64(d)
        }
        return value
    }

    /// Nanoseconds from 1 to 9 fraction digits (`text[range]`, without the dot).
    static func parseNanos(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int32? {
        guard range.count <= 9, var value = parse(text, range) else { return nil }
        for _ in range.count..<9 { value *= 10 }
        return Int32(value)
    }
}
