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
    /// The last use by anyone; from the `accountImage`/`accountImages` methods, that account's own.
    public var lastUsedAt: Date?
    public var hits: Int
    public var buildDurationMs: Int?
    public var sizeBytes: Int?
    /// The setup commands the image was built with, in order.
    public var setup: [String]
    /// The files the build added: paths and sizes only, never contents.
    public var files: [FileSummary]
    public var status: Status
    /// Why the build failed; empty unless `status` is `.failed`.
    public var failureMessage: String

    public init(
        hash: String,
        legacyHash: String = "",
        baseImage: String,
        imageRef: String,
        createdAt: Date,
        lastUsedAt: Date? = nil,
        hits: Int = 0,
        buildDurationMs: Int? = nil,
        sizeBytes: Int? = nil,
        setup: [String] = [],
        files: [FileSummary] = [],
        status: Status = .ready,
        failureMessage: String = ""
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
        self.setup = setup
        self.files = files
        self.status = status
        self.failureMessage = failureMessage
    }
}

extension CachedImage {
    /// A file a build added to the image.
    public struct File: Hashable, Sendable, Codable {
        public var path: String
        public var size: Int

        public init(path: String, size: Int) {
            self.path = path
            self.size = size
        }
    }

    public typealias FileSummary = File

    /// Where the image's build stands. Only `ready` images can run sessions.
    public enum Status: String, Hashable, Sendable, CaseIterable {
        case building, ready, failed
    }
}
