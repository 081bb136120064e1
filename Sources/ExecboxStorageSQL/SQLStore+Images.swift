public import ExecboxStorage
public import Foundation

extension SQLStore {
    private static let imageColumns =
        "hash, legacy_hash, base_image, image_ref, created_at, last_used_at, hits, build_duration_ms, size_bytes"

    public func cachedImage(hash: String, touchAt: Date?) async throws -> CachedImage? {
        if let touchAt {
            return try await write { connection in
                try connection.queryFirst(
                    """
                    UPDATE image_cache SET hits = hits + 1, last_used_at = $2 WHERE hash = $1
                    RETURNING \(Self.imageColumns)
                    """,
                    [.text(hash), .date(touchAt)]
                ).map(Self.image)
            }
        }
        return try await read { connection in
            try connection.queryFirst("SELECT \(Self.imageColumns) FROM image_cache WHERE hash = $1", [.text(hash)])
                .map(Self.image)
        }
    }

    public func saveCachedImage(_ image: CachedImage) async throws -> CachedImage {
        try await write { connection in
            _ = try connection.query(
                """
                INSERT INTO image_cache (\(Self.imageColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (hash) DO NOTHING
                """,
                [
                    .text(image.hash), .text(image.legacyHash), .text(image.baseImage), .text(image.imageRef),
                    .date(image.createdAt), .date(image.lastUsedAt), .int(image.hits), .int(image.buildDurationMs),
                    .int(image.sizeBytes),
                ]
            )
            guard
                let row = try connection.queryFirst(
                    "SELECT \(Self.imageColumns) FROM image_cache WHERE hash = $1",
                    [.text(image.hash)]
                )
            else { throw StorageError.notFound("image") }
            return try Self.image(row)
        }
    }

    public func evictCachedImages(lastUsedBefore: Date) async throws -> [CachedImage] {
        try await write { connection in
            try connection.query(
                "DELETE FROM image_cache WHERE COALESCE(last_used_at, created_at) < $1 RETURNING \(Self.imageColumns)",
                [.date(lastUsedBefore)]
            ).map(Self.image)
        }
    }

    private static func image(_ row: SQLRow) throws -> CachedImage {
        var row = row
        return CachedImage(
            hash: try row.string(),
            legacyHash: try row.string(),
            baseImage: try row.string(),
            imageRef: try row.string(),
            createdAt: try row.date(),
            lastUsedAt: try row.optionalDate(),
            hits: try row.int(),
            buildDurationMs: try row.optionalInt(),
            sizeBytes: try row.optionalInt()
        )
    }
}
