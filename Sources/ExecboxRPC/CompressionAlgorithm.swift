/// A message compression a gRPC peer may use (`grpc-encoding`); `identity` is no compression and
/// is not listed.
public enum CompressionAlgorithm: String, Sendable, Hashable, CaseIterable {
    case gzip
    case deflate

    /// The `grpc-encoding` value, or nil for `identity` and names this side does not know.
    public init?(encoding: String) {
        self.init(rawValue: encoding)
    }

    /// `grpc-accept-encoding` as this side sends it: every algorithm it can decompress.
    public static let acceptEncoding = "identity,deflate,gzip"
}
