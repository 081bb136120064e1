/// A pull tokenizer over UTF-8 JSON; generated `decodeJSON(from:)` methods drive it.
///
/// The scanner checks the grammar as it goes, counts nesting against
/// ``JSONDecodingOptions/maxDepth`` and reports every problem as a ``JSONDecodingError`` with a
/// byte offset, so hostile input cannot trap it or make it recurse without bound.
public struct JSONScanner {
    public let options: JSONDecodingOptions
    /// Borrowed: the caller keeps the bytes alive while the scanner is in use.
    let input: UnsafeBufferPointer<UInt8>
    /// The next byte to read.
    var index = 0
    var depth = 0
    /// Set by `beginObject`/`beginArray` until the first `nextKey`/`nextArrayElement` of the
    /// container, which is the one that takes no comma before it.
    var atContainerStart = false

    public init(bytes: UnsafeRawBufferPointer, options: JSONDecodingOptions = .init()) {
        self.options = options
        self.input = bytes.assumingMemoryBound(to: UInt8.self)
    }

    /// Bytes read so far, for error messages.
    public var offset: Int { index }

    // MARK: Structure

    public mutating func beginObject() throws(JSONDecodingError) {
        guard peek() == UInt8(ascii: "{") else { throw syntaxError(expected: "an object") }
        try enterContainer()
    }

    /// The next key of the current object, with its `:` consumed; nil once the object has closed.
    public mutating func nextKey() throws(JSONDecodingError) -> String? {
        guard let byte = peek() else { throw .unexpectedEnd }
        if byte == UInt8(ascii: "}") {
            leaveContainer()
            return nil
        }
        if atContainerStart {
            atContainerStart = false
        } else {
            guard byte == UInt8(ascii: ",") else { throw syntaxError(expected: "',' or '}'") }
            index += 1
        }
        guard peek() == UInt8(ascii: "\"") else { throw syntaxError(expected: "a key in quotes") }
        let key = try readStringToken()
        guard peek() == UInt8(ascii: ":") else { throw syntaxError(expected: "':'") }
        index += 1
        return key
    }

    public mutating func beginArray() throws(JSONDecodingError) {
        guard peek() == UInt8(ascii: "[") else { throw syntaxError(expected: "an array") }
        try enterContainer()
    }

    /// True if another element of the current array follows (its comma consumed); false once
    /// the array has closed.
    public mutating func nextArrayElement() throws(JSONDecodingError) -> Bool {
        guard let byte = peek() else { throw .unexpectedEnd }
        if byte == UInt8(ascii: "]") {
            leaveContainer()
            return false
        }
        if atContainerStart {
            atContainerStart = false
            return true
        }
        guard byte == UInt8(ascii: ",") else { throw syntaxError(expected: "',' or ']'") }
        index += 1
        guard let next = peek() else { throw .unexpectedEnd }
        guard next != UInt8(ascii: "]") else { throw syntaxError(expected: "a value after ','") }
        return true
    }

    private mutating func enterContainer() throws(JSONDecodingError) {
        guard depth < options.maxDepth else { throw .tooDeep(limit: options.maxDepth) }
        index += 1
        depth += 1
        atContainerStart = true
    }

    private mutating func leaveContainer() {
        index += 1
        depth -= 1
        atContainerStart = false
    }

    // MARK: Literals

    /// Consumes `null` and returns true if it is next; otherwise consumes nothing.
    public mutating func readNull() throws(JSONDecodingError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try readLiteral("null")
        return true
    }

    public mutating func readBool() throws(JSONDecodingError) -> Bool {
        switch peek() {
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return true
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return false
        default:
            throw syntaxError(expected: "true or false")
        }
    }

    private mutating func readLiteral(_ literal: StaticString) throws(JSONDecodingError) {
        let bytes = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for expected in bytes {
            guard index < input.count else { throw .unexpectedEnd }
            guard input[index] == expected else { throw syntaxError(expected: "\(literal)") }
            index += 1
        }
    }

    // MARK: Skipping

    /// Skips one value of any kind, checking its grammar. Iterative, so only `maxDepth` bounds
    /// the nesting it accepts, never the stack.
    public mutating func skipValue() throws(JSONDecodingError) {
        // One entry per open container: true for an array, false for an object.
        var open: [Bool] = []
        repeat {
            guard let byte = peek() else { throw .unexpectedEnd }
            switch byte {
            case UInt8(ascii: "{"):
                try beginObject()
                if try nextKey() != nil {
                    open.append(false)
                    continue
                }
            case UInt8(ascii: "["):
                try beginArray()
                if try nextArrayElement() {
                    open.append(true)
                    continue
                }
            case UInt8(ascii: "\""):
                try skipString()
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                _ = try readBool()
            case UInt8(ascii: "n"):
                try readLiteral("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                _ = try readBareNumber()
            default:
                throw syntaxError(expected: "a value")
            }
            // A value has ended: close the containers it ended, until one has another member.
            while let isArray = open.last {
                if try (isArray ? nextArrayElement() : nextKey() != nil) { break }
                open.removeLast()
            }
        } while !open.isEmpty
    }

    /// Skips the value of a key the message does not know, unless unknown fields are errors.
    public mutating func skipUnknownField(_ key: String) throws(JSONDecodingError) {
        guard options.ignoreUnknownFields else { throw .unknownField(key) }
        try skipValue()
    }

    /// Checks that only whitespace follows the value just read.
    public mutating func finish() throws(JSONDecodingError) {
        guard peek() == nil else { throw .syntax(offset: index, expected: "the end of the input") }
    }

    // MARK: Helpers

    /// The next byte after whitespace, not consumed; nil at the end of the input.
    mutating func peek() -> UInt8? {
        while index < input.count {
            switch input[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return input[index]
            }
        }
        return nil
    }

    /// An error at the current byte, or ``JSONDecodingError/unexpectedEnd`` past the last one.
    func syntaxError(expected: String) -> JSONDecodingError {
        index < input.count ? .syntax(offset: index, expected: expected) : .unexpectedEnd
    }
}
