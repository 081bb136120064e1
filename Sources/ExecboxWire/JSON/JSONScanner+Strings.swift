extension JSONScanner {
    /// A string value, with escapes resolved and its UTF-8 checked.
    public mutating func readString() throws(JSONDecodingError) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw syntaxError(expected: "a string") }
        return try readStringToken()
    }

    /// Reads the string whose opening quote is at `index`.
    mutating func readStringToken() throws(JSONDecodingError) -> String {
        try withStringToken { (text, needsUTF8Check, offset) throws(JSONDecodingError) in
            if !needsUTF8Check { return String(decoding: text, as: UTF8.self) }
            guard let string = String(validating: text, as: UTF8.self) else { throw .invalidUTF8(offset: offset) }
            return string
        }
    }

    /// Skips the string whose opening quote is at `index`, still checking its UTF-8.
    mutating func skipString() throws(JSONDecodingError) {
        try withStringToken { (text, needsUTF8Check, offset) throws(JSONDecodingError) in
            guard !needsUTF8Check || String(validating: text, as: UTF8.self) != nil else {
                throw .invalidUTF8(offset: offset)
            }
        }
    }

    /// Reads the string whose opening quote is at `index` and hands its bytes to `body`, with
    /// escapes resolved (always into valid UTF-8) but the raw bytes unchecked: `needsUTF8Check`
    /// is true if any is beyond ASCII. Also passes the string's offset. A string without escapes
    /// is passed in place, without a copy.
    mutating func withStringToken<R>(
        _ body: (UnsafeBufferPointer<UInt8>, _ needsUTF8Check: Bool, _ offset: Int) throws(JSONDecodingError) -> R
    ) throws(JSONDecodingError) -> R {
        let start = index
        var i = index + 1
        var highBits: UInt8 = 0
        // Fast path: find the closing quote of a string without escapes.
        while i < input.count {
            let byte = input[i]
            if byte == UInt8(ascii: "\"") {
                index = i + 1
                return try body(UnsafeBufferPointer(rebasing: input[start + 1..<i]), highBits >= 0x80, start)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw .syntax(offset: i, expected: "an escaped control character") }
            highBits |= byte
            i += 1
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(i - start + 16)
        decoded.append(contentsOf: UnsafeBufferPointer(rebasing: input[start + 1..<min(i, input.count)]))
        while i < input.count {
            let byte = input[i]
            if byte == UInt8(ascii: "\"") {
                index = i + 1
                return try decoded.withUnsafeBufferPointer { (text) throws(JSONDecodingError) in
                    try body(text, highBits >= 0x80, start)
                }
            }
            if byte == UInt8(ascii: "\\") {
                i = try decodeEscape(at: i, into: &decoded)
            } else {
                guard byte >= 0x20 else { throw .syntax(offset: i, expected: "an escaped control character") }
                highBits |= byte
                decoded.append(byte)
                i += 1
            }
        }
        throw .unexpectedEnd
    }

    /// Appends the character the escape at `i` stands for; returns the index after the escape.
    private func decodeEscape(at i: Int, into decoded: inout [UInt8]) throws(JSONDecodingError) -> Int {
        guard i + 1 < input.count else { throw .unexpectedEnd }
        let simple: UInt8
        switch input[i + 1] {
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let unit = try hex4(at: i + 2)
            var next = i + 6
            var scalar = UInt32(unit)
            switch unit {
            case 0xD800..<0xDC00:
                // A high surrogate must pair with an escaped low surrogate right after it.
                guard next + 1 < input.count, input[next] == UInt8(ascii: "\\"), input[next + 1] == UInt8(ascii: "u")
                else { throw .invalidUTF8(offset: i) }
                let low = try hex4(at: next + 2)
                guard (0xDC00..<0xE000).contains(low) else { throw .invalidUTF8(offset: i) }
                scalar = 0x10000 + (UInt32(unit) - 0xD800) << 10 + (UInt32(low) - 0xDC00)
                next += 6
            case 0xDC00..<0xE000:
                throw .invalidUTF8(offset: i)
            default:
                break
            }
            Self.appendUTF8(scalar, to: &decoded)
            return next
        default:
            throw .syntax(offset: i + 1, expected: "an escape character")
        }
        decoded.append(simple)
        return i + 2
    }

    private func hex4(at start: Int) throws(JSONDecodingError) -> UInt16 {
        var value: UInt16 = 0
        for i in start..<start + 4 {
            guard i < input.count else { throw .unexpectedEnd }
            let byte = input[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .syntax(offset: i, expected: "a hex digit")
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(0xC0 | UInt8(scalar >> 6))
            output.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            output.append(0xE0 | UInt8(scalar >> 12))
            output.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            output.append(0x80 | UInt8(scalar & 0x3F))
        default:
            output.append(0xF0 | UInt8(scalar >> 18))
            output.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            output.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            output.append(0x80 | UInt8(scalar & 0x3F))
        }
    }
}
