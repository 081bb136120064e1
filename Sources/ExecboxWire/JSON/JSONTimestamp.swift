/// The JSON form of `google.protobuf.Timestamp`: RFC 3339 text such as `1972-01-01T10:00:20.021Z`.
enum JSONTimestamp {
    /// 0001-01-01T00:00:00Z, the earliest instant a Timestamp may hold.
    static let minSeconds: Int64 = -62_135_596_800
    /// 9999-12-31T23:59:59Z, the latest whole second a Timestamp may hold.
    static let maxSeconds: Int64 = 253_402_300_799

    static func isValid(seconds: Int64, nanos: Int32) -> Bool {
        (minSeconds...maxSeconds).contains(seconds) && (0..<1_000_000_000).contains(nanos)
    }

    /// Appends the text (without quotes) in UTC. Values outside the valid range are written as
    /// well as text can show them (years beyond four digits, negative years), never trapping.
    static func format(seconds: Int64, nanos: Int32, into output: inout [UInt8]) {
        var seconds = seconds &+ Int64(nanos / 1_000_000_000)
        var nanos = nanos % 1_000_000_000
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds &-= 1
        }
        var days = seconds / 86400
        var secondOfDay = seconds % 86400
        if secondOfDay < 0 {
            secondOfDay += 86400
            days -= 1
        }
        let date = CivilDate(daysSinceEpoch: days)
        if date.year < 0 { output.append(UInt8(ascii: "-")) }
        DecimalDigits.append(date.year.magnitude, width: 4, into: &output)
        output.append(UInt8(ascii: "-"))
        DecimalDigits.append(UInt64(date.month), width: 2, into: &output)
        output.append(UInt8(ascii: "-"))
        DecimalDigits.append(UInt64(date.day), width: 2, into: &output)
        output.append(UInt8(ascii: "T"))
        DecimalDigits.append(UInt64(secondOfDay / 3600), width: 2, into: &output)
        output.append(UInt8(ascii: ":"))
        DecimalDigits.append(UInt64(secondOfDay / 60 % 60), width: 2, into: &output)
        output.append(UInt8(ascii: ":"))
        DecimalDigits.append(UInt64(secondOfDay % 60), width: 2, into: &output)
        DecimalDigits.appendFraction(nanos: UInt32(nanos), into: &output)
        output.append(UInt8(ascii: "Z"))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|±HH:MM)`; nil if malformed or out of range.
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> (seconds: Int64, nanos: Int32)? {
        func byte(_ i: Int) -> UInt8 { i < text.count ? text[i] : 0 }
        func number(_ range: Range<Int>) -> Int64? { DecimalDigits.parse(text, range) }

        guard let year = number(0..<4), byte(4) == UInt8(ascii: "-"),
            let month = number(5..<7), byte(7) == UInt8(ascii: "-"),
            let day = number(8..<10), byte(10) == UInt8(ascii: "T"),
            let hour = number(11..<13), byte(13) == UInt8(ascii: ":"),
            let minute = number(14..<16), byte(16) == UInt8(ascii: ":"),
            let second = number(17..<19)
        else { return nil }
        guard (1...12).contains(month), (1...CivilDate.daysInMonth(month, year: year)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }

        var i = 19
        var nanos: Int32 = 0
        if byte(i) == UInt8(ascii: ".") {
            let start = i + 1
            i = start
            while i < text.count, text[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard let n = DecimalDigits.parseNanos(text, start..<i) else { return nil }
            nanos = n
        }

        var offsetSeconds: Int64 = 0
        switch byte(i) {
        case UInt8(ascii: "Z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHour = number(i + 1..<i + 3), byte(i + 3) == UInt8(ascii: ":"),
                let offsetMinute = number(i + 4..<i + 6), offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetSeconds = offsetHour * 3600 + offsetMinute * 60
            if text[i] == UInt8(ascii: "-") { offsetSeconds = -offsetSeconds }
            i += 6
        default:
            return nil
        }
        guard i == text.count else { return nil }

        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        // Local time minus its offset from UTC is UTC.
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        guard (minSeconds...maxSeconds).contains(seconds) else { return nil }
        return (seconds, nanos)
    }
}
