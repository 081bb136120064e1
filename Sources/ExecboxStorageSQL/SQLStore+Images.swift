public import ExecboxStorage
public import Foundation

extension SQLStore {
    private static let imageColumns =
        "hash, legacy_hash, base_image, image_ref, created_at, last_used_at, hits, build_duration_ms, size_bytes, setup, files, status, failure_message"

    /// The image columns through `image_users u JOIN image_cache i`, with the account's own last use.
    private static let accountImageColumns =
        "i.hash, i.legacy_hash, i.base_image, i.image_ref, i.created_at, u.last_used_at, i.hits, i.build_duration_ms, i.size_bytes, i.setup, i.files, i.status, i.failure_message"

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
        let values = try Self.imageValues(image)
        return try await write { connection in
            _ = try connection.query(
                """
                INSERT INTO image_cache (\(Self.imageColumns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                ON CONFLICT (hash) DO NOTHING
                """,
                values
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

    /// A build's status changes rewrite the row with `lastUsedAt` nil; the uses recorded in between
    /// (and the hits) stay, so an image in use is not evicted as unused.
    public func updateCachedImage(_ image: CachedImage) async throws -> CachedImage {
        let values = try Self.imageValues(image)
        return try await write { connection in
            guard
                let row = try connection.queryFirst(
                    """
                    INSERT INTO image_cache (\(Self.imageColumns))
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    ON CONFLICT (hash) DO UPDATE SET legacy_hash = excluded.legacy_hash,
                        base_image = excluded.base_image, image_ref = excluded.image_ref,
                        last_used_at = CASE
                            WHEN excluded.last_used_at IS NULL OR image_cache.last_used_at > excluded.last_used_at
                            THEN image_cache.last_used_at ELSE excluded.last_used_at END,
                        build_duration_ms = excluded.build_duration_ms,
                        size_bytes = excluded.size_bytes, setup = excluded.setup, files = excluded.files,
                        status = excluded.status, failure_message = excluded.failure_message
                    RETURNING \(Self.imageColumns)
                    """,
                    values
                )
            else { throw SQLRow.corrupt("INSERT … RETURNING gave no row") }
            return try Self.image(row)
        }
    }

    public func recordImageUse(accountID: String, hash: String, at: Date) async throws {
        try await write { connection in
            // The image row first: its lock orders this against a concurrent removal.
            let touched = try connection.query(
                """
                UPDATE image_cache SET hits = hits + 1,
                    last_used_at = CASE WHEN last_used_at > $2 THEN last_used_at ELSE $2 END
                WHERE hash = $1 RETURNING hash
                """,
                [.text(hash), .date(at)]
            )
            guard !touched.isEmpty else { throw StorageError.notFound("image") }
            guard try connection.queryFirst("SELECT id FROM accounts WHERE id = $1", [.text(accountID)]) != nil
            else { throw StorageError.notFound("account") }
            _ = try connection.query(
                """
                INSERT INTO image_users (account_id, hash, first_used_at, last_used_at) VALUES ($1, $2, $3, $3)
                ON CONFLICT (account_id, hash) DO UPDATE SET last_used_at =
                    CASE WHEN image_users.last_used_at > excluded.last_used_at THEN image_users.last_used_at
                    ELSE excluded.last_used_at END
                """,
                [.text(accountID), .text(hash), .date(at)]
            )
        }
    }

    public func accountImage(accountID: String, hash: String) async throws -> CachedImage? {
        try await read { connection in
            try connection.queryFirst(
                """
                SELECT \(Self.accountImageColumns) FROM image_users u JOIN image_cache i ON i.hash = u.hash
                WHERE u.account_id = $1 AND u.hash = $2
                """,
                [.text(accountID), .text(hash)]
            ).map(Self.image)
        }
    }

    public func accountImage(accountID: String, legacyHash: String) async throws -> CachedImage? {
        // Images without a legacy form store it empty; an empty one names none of them.
        guard !legacyHash.isEmpty else { return nil }
        return try await read { connection in
            try connection.queryFirst(
                """
                SELECT \(Self.accountImageColumns) FROM image_users u JOIN image_cache i ON i.hash = u.hash
                WHERE u.account_id = $1 AND i.legacy_hash = $2 ORDER BY u.last_used_at DESC, u.hash DESC LIMIT 1
                """,
                [.text(accountID), .text(legacyHash)]
            ).map(Self.image)
        }
    }

    public func accountImages(
        accountID: String,
        baseImage: String?,
        status: CachedImage.Status?,
        page: PageRequest
    ) async throws -> Page<CachedImage> {
        let limit = Cursor.limit(page)
        return try await read { connection in
            var sql = SQLBuilder(
                "SELECT \(Self.accountImageColumns) FROM image_users u JOIN image_cache i ON i.hash = u.hash WHERE"
            )
            sql.append(" u.account_id = \(sql.bind(.text(accountID)))")
            if let baseImage { sql.append(" AND i.base_image = \(sql.bind(.text(baseImage)))") }
            if let status { sql.append(" AND i.status = \(sql.bind(.text(status.rawValue)))") }
            if let cursor = page.cursor {
                let (micros, hash) = try Cursor.decode(cursor)
                let m = sql.bind(.integer(micros))
                sql.append(
                    " AND (u.last_used_at < \(m) OR (u.last_used_at = \(m) AND u.hash < \(sql.bind(.text(hash)))))")
            }
            sql.append(" ORDER BY u.last_used_at DESC, u.hash DESC LIMIT \(sql.bind(.int(limit + 1)))")
            var images = try connection.query(sql.sql, sql.binds).map(Self.image)
            let more = images.count > limit
            if more { images.removeLast() }
            // The account's last use is never nil here (image_users.last_used_at is NOT NULL).
            let next =
                more
                ? images.last.map { Cursor.encode(micros: Micros.from($0.lastUsedAt ?? $0.createdAt), id: $0.hash) }
                : nil
            return Page(items: images, nextCursor: next)
        }
    }

    public func removeCachedImage(hash: String) async throws -> Bool {
        try await write { connection in
            !(try connection.query("DELETE FROM image_cache WHERE hash = $1 RETURNING hash", [.text(hash)]).isEmpty)
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

    /// The bound values of `imageColumns`, in order.
    private static func imageValues(_ image: CachedImage) throws -> [SQLValue] {
        [
            .text(image.hash), .text(image.legacyHash), .text(image.baseImage), .text(image.imageRef),
            .date(image.createdAt), .date(image.lastUsedAt), .int(image.hits), .int(image.buildDurationMs),
            .int(image.sizeBytes), .text(try JSONText.encode(image.setup)), .text(try JSONText.encode(image.files)),
            .text(image.status.rawValue), .text(image.failureMessage),
        ]
    }

    private static func image(_ row: SQLRow) throws -> CachedImage {
        var row = row
        let hash = try row.string()
        let legacyHash = try row.string()
        let baseImage = try row.string()
        let imageRef = try row.string()
        let createdAt = try row.date()
        let lastUsedAt = try row.optionalDate()
        let hits = try row.int()
        let buildDurationMs = try row.optionalInt()
        let sizeBytes = try row.optionalInt()
        let setup = try JSONText.decode([String].self, from: try row.string())
        let files = try JSONText.decode([CachedImage.File].self, from: try row.string())
        guard let status = CachedImage.Status(rawValue: try row.string()) else {
            throw SQLRow.corrupt("unknown image status")
        }
        return CachedImage(
            hash: hash,
            legacyHash: legacyHash,
            baseImage: baseImage,
            imageRef: imageRef,
            createdAt: createdAt,
            lastUsedAt: lastUsedAt,
            hits: hits,
            buildDurationMs: buildDurationMs,
            sizeBytes: sizeBytes,
            setup: setup,
            files: files,
            status: status,
            failureMessage: try row.string()
        )
    }
}
