public import Foundation

/// A built image in the content-addressed cache.
public struct CachedImage: Hashable, Sendable {
    /// Content address, `sha256:<64 hex>` of base image, setup and files.
    public var hash: String
    /// Legacy 16-hex form (CONTRACT.md §8.6); empty when not applicable.
    public var legacyHash: String
    public var baseImage: String
    /// Registry or local reference of the built image.
    public var imageRef: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var hits: Int
    public var buildDurationMs: Int?
    public var sizeBytes: Int?

    public init(
        hash: String,
        legacyHash: String = "",
        baseImage: String,
        imageRef: String,
        createdAt: Date,
        lastUsedAt: Date? = nil,
        hits: Int = 0,
        buildDurationMs: Int? = nil,
        sizeBytes: Int? = nil
    ) {
        self.hash = hash
        self.legacyHash = legacyHash
        self.baseImage = baseImage
        self.imageRef = imageRef
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.hits = hits
        self.buildDurationMs = buildDurationMs
        self.sizeBytes = sizeBytes
    }
}
