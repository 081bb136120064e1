/// The sizes of nested messages, recorded in pre-order by the size pass and read back in the same
/// order by the write pass, so each nested size is computed once however deep the nesting.
public struct WireSizeCache: ~Copyable {
    @usableFromInline var sizes: [Int] = []
    @usableFromInline var cursor = 0

    @inlinable
    public init() {}

    /// Reserves the slot for a nested message about to be sized; fill it with ``set(_:_:)``.
    @inlinable
    public mutating func reserve() -> Int {
        sizes.append(0)
        return sizes.count &- 1
    }

    @inlinable
    public mutating func set(_ slot: Int, _ size: Int) {
        sizes[slot] = size
    }

    /// The next recorded size, in the write pass.
    @inlinable
    public mutating func next() -> Int {
        let size = sizes[cursor]
        cursor &+= 1
        return size
    }
}
