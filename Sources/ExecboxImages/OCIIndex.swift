/// `index.json` of an OCI image layout, or an image index blob (a multi-platform image).
public struct OCIIndex: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [OCIDescriptor]
    public var annotations: [String: String]?

    public init(
        schemaVersion: Int = 2,
        mediaType: String? = OCIMediaType.imageIndex,
        manifests: [OCIDescriptor],
        annotations: [String: String]? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }
}
