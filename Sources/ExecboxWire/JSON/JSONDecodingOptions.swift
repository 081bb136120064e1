/// Limits and leniency for reading JSON, which on the REST path comes from untrusted clients.
public struct JSONDecodingOptions: Sendable, Hashable {
    /// Unknown keys and enum names are errors by default, so a typo does not pass silently;
    /// ignoring them lets an older server accept requests from newer clients.
    public var ignoreUnknownFields: Bool
    /// Objects and arrays nested deeper than this are rejected (protobuf's usual recursion limit).
    public var maxDepth: Int
    /// Inputs larger than this are rejected before any byte is parsed.
    public var maxSize: Int

    public init(ignoreUnknownFields: Bool = false, maxDepth: Int = 100, maxSize: Int = 64 << 20) {
        self.ignoreUnknownFields = ignoreUnknownFields
        self.maxDepth = maxDepth
        self.maxSize = maxSize
    }
}
