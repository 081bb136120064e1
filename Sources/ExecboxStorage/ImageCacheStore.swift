public import Foundation

/// The content-addressed image cache.
public protocol ImageCacheStore: Sendable {
    /// The cached image; with `touchAt`, counts a hit and sets `last_used_at`.
    func cachedImage(hash: String, touchAt: Date?) async throws -> CachedImage?

    /// Inserts the image unless its hash is cached already; returns what the cache holds.
    func saveCachedImage(_ image: CachedImage) async throws -> CachedImage

    /// Removes images not used since `lastUsedBefore` (or never used and created before it).
    func evictCachedImages(lastUsedBefore: Date) async throws -> [CachedImage]
}
