/// Tar's numeric header fields: octal text (leading spaces, ended by a space or NUL) or, when the
/// first byte's high bit is set, GNU's base-256 big-endian two's complement, for values octal
/// cannot hold (files of 8 GiB and more, negative times).
enum TarNumber {
    /// The value, or nil when the field is neither form or does not fit an `Int64`. An empty
    /// (all-NUL or all-space) field is 0.
    static func parse(_ field: ArraySlice<UInt8>) -> Int64? {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 { return parseBase256(field) }
        var index = field.startIndex
        while index < field.endIndex && (field[index] == 0 || field[index] == UInt8(ascii: " ")) { index += 1 }
        var value: Int64 = 0
        while index < field.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(field[index]) {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 8)
            guard !overflow else { return nil }
            value = shifted + Int64(field[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard field[index...].allSatisfy({ $0 == 0 || $0 == UInt8(ascii: " ") }) else { return nil }
        return value
    }

    private static func parseBase256(_ field: ArraySlice<UInt8>) -> Int64? {
        let negative = field.first! & 0x40 != 0
        let invert: UInt8 = negative ? 0xFF : 0
        var value: UInt64 = 0
        for (position, byte) in field.enumerated() {
            var digit = byte ^ invert
            if position == 0 { digit &= 0x7F }
            guard value >> 56 == 0 else { return nil }
            value = value << 8 | UInt64(digit)
        }
        guard value >> 63 == 0 else { return nil }
        return negative ? ~Int64(value) : Int64(value)
    }
}
