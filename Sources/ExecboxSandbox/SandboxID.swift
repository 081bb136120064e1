/// A sandbox's identifier. It names the runtime's container, its cgroups and its directories, so it is
/// validated here once: 1 to 64 characters of `[a-z0-9_-]`, starting with a letter or digit.
public struct SandboxID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(SandboxError) {
        guard Self.isValid(rawValue) else {
            throw SandboxError(code: .invalidArgument, message: "invalid sandbox id")
        }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: SandboxID, rhs: SandboxID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// A random id: `sbx-` and 20 lowercase base-32 characters (100 bits).
    public static func random() -> SandboxID {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var generator = SystemRandomNumberGenerator()
        var bytes = Array("sbx-".utf8)
        for _ in 0..<20 { bytes.append(alphabet[Int(generator.next() % 32)]) }
        return SandboxID(unchecked: String(decoding: bytes, as: UTF8.self))
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): continue
            case UInt8(ascii: "-") where index > 0, UInt8(ascii: "_") where index > 0: continue
            default: return false
            }
        }
        return true
    }
}
