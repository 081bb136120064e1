/// The alphabet of key secrets and checksums: digits, upper case, lower case.
enum Base62 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `count` characters drawn uniformly from the alphabet with the system CSPRNG.
    static func random(count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<62, using: &generator)] })
    }

    /// `value` in exactly `width` digits, most significant first (zero-padded).
    static func encode(_ value: UInt32, width: Int) -> String {
        var value = value
        var digits = [Character](repeating: "0", count: width)
        for index in stride(from: width - 1, through: 0, by: -1) {
            digits[index] = alphabet[Int(value % 62)]
            value /= 62
        }
        return String(digits)
    }

    static func isDigit(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber)
    }
}
