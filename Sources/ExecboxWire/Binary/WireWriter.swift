/// Writes a message into a buffer whose size was computed beforehand.
///
/// Encoding is two passes: sizes first (into a ``WireSizeCache``), then bytes into one buffer of
/// exactly that size. Every write is bounds-checked, so a size bug traps instead of corrupting memory.
public struct WireWriter: ~Copyable {
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    @usableFromInline let capacity: Int
    @usableFromInline var offset: Int = 0

    @inlinable
    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Bytes written so far.
    public var count: Int { offset }

    @inlinable
    mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(n <= capacity &- offset, "ExecboxWire: encoded size differs from the computed size")
        let p = base + offset
        offset &+= n
        return p
    }

    /// One byte inline (most tags, lengths and small numbers); the rest out of line.
    @inlinable @inline(__always)
    public mutating func writeVarint(_ value: UInt64) {
        if value < 0x80 {
            precondition(offset < capacity, "ExecboxWire: encoded size differs from the computed size")
            base[offset] = UInt8(truncatingIfNeeded: value)
            offset &+= 1
        } else {
            writeLongVarint(value)
        }
    }

    @usableFromInline @inline(never)
    mutating func writeLongVarint(_ value: UInt64) {
        var v = value
        let p = reserve(Varint.size(v))
        var i = 0
        while v >= 0x80 {
            p[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i &+= 1
        }
        p[i] = UInt8(truncatingIfNeeded: v)
    }

    @inlinable
    public mutating func writeVarint(_ value: Int) {
        writeVarint(UInt64(bitPattern: Int64(value)))
    }

    /// A tag precomputed by the generator, already varint-encoded into `bytes` (lowest byte first).
    @inlinable @inline(__always)
    public mutating func writeRawTag(_ tag: UInt32) {
        writeVarint(UInt64(tag))
    }

    @inlinable
    public mutating func writeFixed32(_ value: UInt32) {
        let p = reserve(4)
        UnsafeMutableRawPointer(p).storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    @inlinable
    public mutating func writeFixed64(_ value: UInt64) {
        let p = reserve(8)
        UnsafeMutableRawPointer(p).storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    @inlinable
    public mutating func writeFloat(_ value: Float) {
        writeFixed32(value.bitPattern)
    }

    @inlinable
    public mutating func writeDouble(_ value: Double) {
        writeFixed64(value.bitPattern)
    }

    @inlinable
    public mutating func writeBool(_ value: Bool) {
        reserve(1).pointee = value ? 1 : 0
    }

    @inlinable
    public mutating func writeRawBytes(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let p = reserve(bytes.count)
        UnsafeMutableRawPointer(p).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    /// Length prefix and bytes.
    @inlinable
    public mutating func writeBytes(_ bytes: [UInt8]) {
        writeVarint(bytes.count)
        bytes.withUnsafeBytes { writeRawBytes($0) }
    }

    /// Length prefix and UTF-8.
    @inlinable
    public mutating func writeString(_ string: String) {
        // Native strings are contiguous: borrow their bytes rather than copy the string.
        let written: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            writeVarint(utf8.count)
            writeRawBytes(UnsafeRawBufferPointer(utf8))
        }
        if written == nil {
            var s = string
            s.withUTF8 { utf8 in
                writeVarint(utf8.count)
                writeRawBytes(UnsafeRawBufferPointer(utf8))
            }
        }
    }
}

/// Sizes of the fields the generator asks about, matching what ``WireWriter`` writes.
public enum WireSize {
    @inlinable
    public static func string(_ s: String) -> Int {
        let n = s.utf8.count
        return Varint.size(n) &+ n
    }

    @inlinable
    public static func bytes(_ b: [UInt8]) -> Int {
        Varint.size(b.count) &+ b.count
    }

    @inlinable
    public static func lengthDelimited(_ n: Int) -> Int {
        Varint.size(n) &+ n
    }
}
