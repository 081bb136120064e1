/// A reference to a blob by digest and size (OCI image-spec `descriptor.md`).
public struct OCIDescriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    /// Checked non-negative on decoding: a blob longer than this is refused while it is read.
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: OCIPlatform?

    public init(
        mediaType: String,
        digest: Digest,
        size: Int64,
        annotations: [String: String]? = nil,
        platform: OCIPlatform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try container.decode(String.self, forKey: .mediaType)
        digest = try container.decode(Digest.self, forKey: .digest)
        size = try container.decode(Int64.self, forKey: .size)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations)
        platform = try container.decodeIfPresent(OCIPlatform.self, forKey: .platform)
        guard size >= 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .size, in: container, debugDescription: "a descriptor's size is negative")
        }
    }

    /// `org.opencontainers.image.ref.name`: the tag an index entry stands for.
    public var referenceName: String? { annotations?["org.opencontainers.image.ref.name"] }
}
