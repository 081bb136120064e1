/// An image manifest: the config blob and the layers, bottom first.
public struct OCIManifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var annotations: [String: String]?

    public init(
        schemaVersion: Int = 2,
        mediaType: String? = OCIMediaType.imageManifest,
        config: OCIDescriptor,
        layers: [OCIDescriptor],
        annotations: [String: String]? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}
