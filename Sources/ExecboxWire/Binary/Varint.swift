/// Base-128 varints: seven bits a byte, least significant group first, high bit set on all but the last.
public enum Varint {
    /// The longest valid varint: ten bytes carry 64 bits.
    public static let maxLength = 10

    /// The number of bytes `value` takes as a varint.
    @inlinable
    public static func size(_ value: UInt64) -> Int {
        // One byte per started group of seven significant bits, at least one.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    @inlinable
    public static func size(_ value: Int) -> Int {
        size(UInt64(bitPattern: Int64(value)))
    }

    /// int32 values are sign-extended to 64 bits, so a negative one always takes ten bytes.
    @inlinable
    public static func size(int32 value: Int32) -> Int {
        size(UInt64(bitPattern: Int64(value)))
    }
}
