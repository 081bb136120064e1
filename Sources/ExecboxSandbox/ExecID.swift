/// An exec's identifier, unique within its sandbox; a client re-attaches to an exec by it.
public struct ExecID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(SandboxError) {
        guard SandboxID.isValid(rawValue) else {
            throw SandboxError(code: .invalidArgument, message: "invalid exec id")
        }
        self.rawValue = rawValue
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: ExecID, rhs: ExecID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// A random id: `exec-` and 16 lowercase base-32 characters (80 bits).
    public static func random() -> ExecID {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var generator = SystemRandomNumberGenerator()
        var bytes = Array("exec-".utf8)
        for _ in 0..<16 { bytes.append(alphabet[Int(generator.next() % 32)]) }
        return ExecID(unchecked: String(decoding: bytes, as: UTF8.self))
    }
}
