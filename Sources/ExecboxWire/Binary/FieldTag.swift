/// A field number and wire type, as encoded before every field (`number << 3 | wireType`).
public struct FieldTag: Hashable, Sendable {
    /// Field numbers run from 1 to 2^29 − 1.
    public static let maxFieldNumber: UInt32 = (1 << 29) - 1

    public let rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    @inlinable
    public init(number: Int, wireType: WireType) {
        self.rawValue = UInt32(number) << 3 | UInt32(wireType.rawValue)
    }

    @inlinable
    public var number: Int { Int(rawValue >> 3) }

    /// Nil for the two reserved wire types (6 and 7), which decoding rejects.
    @inlinable
    public var wireType: WireType? { WireType(rawValue: UInt8(rawValue & 7)) }
}
