/// Limits that bound the work and memory an untrusted input can cost.
public struct WireDecodingOptions: Sendable, Hashable {
    /// Messages nested deeper than this are rejected (protobuf's usual recursion limit).
    public var maxDepth: Int
    /// Inputs larger than this are rejected before any field is read.
    public var maxSize: Int
    /// Unknown fields are kept and re-emitted by default; dropping them saves memory.
    public var discardUnknownFields: Bool

    public init(maxDepth: Int = 100, maxSize: Int = 64 << 20, discardUnknownFields: Bool = false) {
        self.maxDepth = maxDepth
        self.maxSize = maxSize
        self.discardUnknownFields = discardUnknownFields
    }
}
