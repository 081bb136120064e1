public import Foundation

/// The content-addressed image cache, and which accounts have used which images. An image is
/// shared by every account whose build hashes to it; an account sees only the images it used.
public protocol ImageCacheStore: Sendable {
    /// The cached image; with `touchAt`, counts a hit and sets `last_used_at`.
    func cachedImage(hash: String, touchAt: Date?) async throws -> CachedImage?

    /// Inserts the image unless its hash is cached already; returns what the cache holds.
    func saveCachedImage(_ image: CachedImage) async throws -> CachedImage

    /// Inserts the image, or replaces every column of the cached one except `createdAt` and
    /// `hits`, which keep their stored values, and `lastUsedAt`, which only moves forward (nil
    /// keeps it); returns what the cache now holds.
    func updateCachedImage(_ image: CachedImage) async throws -> CachedImage

    /// Records that the account used the image at `at`, and counts a hit on the image, in one
    /// transaction. Neither last-use time moves backwards. `.notFound` if the image is not cached.
    func recordImageUse(accountID: String, hash: String, at: Date) async throws

    /// The image if this account has used it, with the account's own `lastUsedAt`.
    func accountImage(accountID: String, hash: String) async throws -> CachedImage?

    /// The account's most recently used image with this legacy hash; nil for an empty one.
    func accountImage(accountID: String, legacyHash: String) async throws -> CachedImage?

    /// The images the account has used, most recently used first, each with the account's own
    /// `lastUsedAt`.
    func accountImages(accountID: String, baseImage: String?, status: CachedImage.Status?, page: PageRequest)
        async throws -> Page<CachedImage>

    /// Removes the image and every account's record of using it; false if it was not cached.
    func removeCachedImage(hash: String) async throws -> Bool

    /// Removes images not used since `lastUsedBefore` (or never used and created before it).
    func evictCachedImages(lastUsedBefore: Date) async throws -> [CachedImage]
}
