/// The JSON number grammar and the exact conversion of number text to integers.
///
/// Integer fields accept any number text whose value is integral (`1e3`, `-2.0`, `10E-1`), as
/// protobuf's JSON parsers do; working on the digits rather than through `Double` keeps 64-bit
/// values exact.
enum JSONNumberText {
    /// Where a number ends, or where it broke the grammar.
    enum Match {
        case number(length: Int)
        case invalid(at: Int)
    }

    enum IntegerValue {
        case value(negative: Bool, magnitude: UInt64)
        case notIntegral
        case outOfRange
    }

    /// Matches `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at the start of `text`.
    static func match(_ text: UnsafeBufferPointer<UInt8>) -> Match {
        var i = 0
        func isDigit(_ i: Int) -> Bool { i < text.count && text[i] &- UInt8(ascii: "0") < 10 }
        if i < text.count, text[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return .invalid(at: i) }
        if text[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < text.count, text[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return .invalid(at: i) }
            while isDigit(i) { i += 1 }
        }
        if i < text.count, text[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < text.count, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { return .invalid(at: i) }
            while isDigit(i) { i += 1 }
        }
        return .number(length: i)
    }

    /// True if all of `text` is one number.
    static func isNumber(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if case .number(let length) = match(text) { return length == text.count }
        return false
    }

    /// The integer value of `text`, which must be a whole number as ``match(_:)`` accepts it.
    static func integer(_ text: UnsafeBufferPointer<UInt8>) -> IntegerValue {
        var i = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let integerStart = i
        while i < text.count, text[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        let integerEnd = i
        var fractionStart = i
        var fractionEnd = i
        if i < text.count, text[i] == UInt8(ascii: ".") {
            fractionStart = i + 1
            i = fractionStart
            while i < text.count, text[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            fractionEnd = i
        }
        // The exponent saturates: past a few hundred, any nonzero value is out of range anyway.
        var exponent = 0
        if i < text.count {
            i += 1
            var exponentNegative = false
            if text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
                exponentNegative = text[i] == UInt8(ascii: "-")
                i += 1
            }
            while i < text.count {
                exponent = min(exponent * 10 + Int(text[i] &- UInt8(ascii: "0")), 100_000)
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }

        // The digits run on from the integer part into the fraction, with the value being
        // digits × 10^(exponent − fraction length). Leading and trailing zeros do not count.
        let integerCount = integerEnd - integerStart
        func digit(_ k: Int) -> UInt8 {
            text[k < integerCount ? integerStart + k : fractionStart + k - integerCount] &- UInt8(ascii: "0")
        }
        var end = integerCount + fractionEnd - fractionStart
        exponent -= fractionEnd - fractionStart
        while end > 0, digit(end - 1) == 0 {
            end -= 1
            exponent += 1
        }
        var start = 0
        while start < end, digit(start) == 0 { start += 1 }
        guard start < end else { return .value(negative: false, magnitude: 0) }
        guard exponent >= 0 else { return .notIntegral }
        guard end - start + exponent <= 20 else { return .outOfRange }
        var magnitude: UInt64 = 0
        for k in start..<end {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit(k)))
            guard !o1, !o2 else { return .outOfRange }
            magnitude = sum
        }
        for _ in 0..<exponent {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return .outOfRange }
            magnitude = times10
        }
        return .value(negative: negative, magnitude: magnitude)
    }
}
