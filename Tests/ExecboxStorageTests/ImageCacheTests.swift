import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Image cache")
struct ImageCacheTests {
    @Test("update inserts, then replaces every column but created_at and hits", arguments: StoreBackend.all)
    func updateKeepsCreationAndHits(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let first = Self.image(
                "a",
                legacy: "aaaa000011112222",
                status: .building,
                setup: ["pip install six", "apt-get install -y jq"],
                files: [.init(path: "/workspace/a.py", size: 12), .init(path: "/etc/x.conf", size: 0)]
            )
            #expect(try await store.updateCachedImage(first) == first)
            #expect(try await store.cachedImage(hash: first.hash, touchAt: nil) == first)
            // JSON text arrays, as documented; files carry no contents.
            let raw = try await store.database.perform(.read) { connection in
                try connection.query("SELECT setup, files, status FROM image_cache", []).map {
                    var row = $0
                    return [try row.string(), try row.string(), try row.string()]
                }
            }
            #expect(
                raw == [
                    [
                        #"["pip install six","apt-get install -y jq"]"#,
                        #"[{"path":"/workspace/a.py","size":12},{"path":"/etc/x.conf","size":0}]"#,
                        "building",
                    ]
                ]
            )

            _ = try await store.cachedImage(hash: first.hash, touchAt: Fixtures.at(10))
            _ = try await store.cachedImage(hash: first.hash, touchAt: Fixtures.at(11))
            let replacement = CachedImage(
                hash: first.hash,
                legacyHash: "bbbb000011112222",
                baseImage: "node:20",
                imageRef: "execbox/built-again",
                createdAt: Fixtures.at(500),
                lastUsedAt: Fixtures.at(20),
                hits: 99,
                buildDurationMs: 4_321,
                sizeBytes: 1 << 30,
                setup: ["npm install left-pad"],
                files: [.init(path: "/workspace/b.js", size: 7)],
                status: .failed,
                failureMessage: "step 1 exited with 1"
            )
            var expected = replacement
            expected.createdAt = first.createdAt
            expected.hits = 2
            #expect(try await store.updateCachedImage(replacement) == expected)
            #expect(try await store.cachedImage(hash: first.hash, touchAt: nil) == expected)

            // A status change from a build passes no last use: the recorded one stays, and an
            // earlier one does not move it back.
            var built = replacement
            built.lastUsedAt = nil
            built.status = .ready
            built.failureMessage = ""
            expected.status = .ready
            expected.failureMessage = ""
            #expect(try await store.updateCachedImage(built) == expected)
            built.lastUsedAt = Fixtures.at(15)
            #expect(try await store.updateCachedImage(built) == expected)
            #expect(try await store.cachedImage(hash: first.hash, touchAt: nil)?.lastUsedAt == Fixtures.at(20))

            // Another hash is a new row and leaves this one alone.
            let second = Self.image("b")
            #expect(try await store.updateCachedImage(second) == second)
            #expect(try await store.cachedImage(hash: first.hash, touchAt: nil) == expected)

            let badStatus = await #expect(throws: StorageError.self) {
                try await store.database.perform(.write) { connection in
                    _ = try connection.query("UPDATE image_cache SET status = 'done'", [])
                }
            }
            #expect(badStatus?.code == .invalidArgument)
        }
    }

    @Test("a use is recorded for that account only", arguments: StoreBackend.all)
    func useIsPerAccount(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let a = try await Fixtures.account(in: store).account.id
            let b = try await Fixtures.account(in: store).account.id
            let image = Self.image("c", legacy: "cccc000011112222")
            _ = try await store.updateCachedImage(image)
            #expect(try await store.accountImage(accountID: a, hash: image.hash) == nil)

            try await store.recordImageUse(accountID: a, hash: image.hash, at: Fixtures.at(10))
            var seen = image
            seen.lastUsedAt = Fixtures.at(10)
            seen.hits = 1
            #expect(try await store.accountImage(accountID: a, hash: image.hash) == seen)
            #expect(try await store.accountImage(accountID: a, legacyHash: image.legacyHash) == seen)
            #expect(try await store.cachedImage(hash: image.hash, touchAt: nil) == seen)
            #expect(try await store.accountImage(accountID: b, hash: image.hash) == nil)
            #expect(try await store.accountImage(accountID: b, legacyHash: image.legacyHash) == nil)
            #expect(
                try await store.accountImages(accountID: b, baseImage: nil, status: nil, page: PageRequest()).items
                    .isEmpty
            )

            // Each account sees its own last use; the image counts every use.
            try await store.recordImageUse(accountID: b, hash: image.hash, at: Fixtures.at(20))
            try await store.recordImageUse(accountID: a, hash: image.hash, at: Fixtures.at(30))
            #expect(try await store.accountImage(accountID: a, hash: image.hash)?.lastUsedAt == Fixtures.at(30))
            #expect(try await store.accountImage(accountID: b, hash: image.hash)?.lastUsedAt == Fixtures.at(20))
            let shared = try await store.cachedImage(hash: image.hash, touchAt: nil)
            #expect(shared?.hits == 3 && shared?.lastUsedAt == Fixtures.at(30))
            #expect(try await Self.firstUse(in: store, accountID: a) == [Fixtures.at(10)])

            // A late report of an earlier use counts, but moves no last use backwards.
            try await store.recordImageUse(accountID: a, hash: image.hash, at: Fixtures.at(25))
            #expect(try await store.accountImage(accountID: a, hash: image.hash)?.lastUsedAt == Fixtures.at(30))
            let late = try await store.cachedImage(hash: image.hash, touchAt: nil)
            #expect(late?.hits == 4 && late?.lastUsedAt == Fixtures.at(30))

            let noImage = await #expect(throws: StorageError.self) {
                try await store.recordImageUse(accountID: a, hash: "sha256:missing", at: Fixtures.at(40))
            }
            #expect(noImage?.code == .notFound)
            let noAccount = await #expect(throws: StorageError.self) {
                try await store.recordImageUse(accountID: "nobody", hash: image.hash, at: Fixtures.at(40))
            }
            #expect(noAccount?.code == .notFound)
            // The refused use changed nothing: one transaction.
            let after = try await store.cachedImage(hash: image.hash, touchAt: nil)
            #expect(after?.hits == 4 && after?.lastUsedAt == Fixtures.at(30))
        }
    }

    @Test("a legacy hash finds the account's most recently used image", arguments: StoreBackend.all)
    func legacyHashLookup(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let a = try await Fixtures.account(in: store).account.id
            let b = try await Fixtures.account(in: store).account.id
            let legacy = "0123456789abcdef"
            let x = Self.image("d", legacy: legacy)
            let y = Self.image("e", legacy: legacy)
            let other = Self.image("f", legacy: "fedcba9876543210")
            let none = Self.image("0")
            for image in [x, y, other, none] { _ = try await store.updateCachedImage(image) }

            try await store.recordImageUse(accountID: a, hash: x.hash, at: Fixtures.at(10))
            try await store.recordImageUse(accountID: a, hash: y.hash, at: Fixtures.at(20))
            try await store.recordImageUse(accountID: a, hash: other.hash, at: Fixtures.at(50))
            #expect(try await store.accountImage(accountID: a, legacyHash: legacy)?.hash == y.hash)
            try await store.recordImageUse(accountID: a, hash: x.hash, at: Fixtures.at(30))
            #expect(try await store.accountImage(accountID: a, legacyHash: legacy)?.hash == x.hash)
            // B's later use of y makes y the newest overall, not for A.
            try await store.recordImageUse(accountID: b, hash: y.hash, at: Fixtures.at(40))
            #expect(try await store.accountImage(accountID: a, legacyHash: legacy)?.hash == x.hash)
            #expect(try await store.accountImage(accountID: b, legacyHash: legacy)?.hash == y.hash)
            #expect(try await store.accountImage(accountID: a, legacyHash: "fedcba9876543210")?.hash == other.hash)
            #expect(try await store.accountImage(accountID: a, legacyHash: "1111111111111111") == nil)

            // An image without a legacy form is not found by the empty string.
            try await store.recordImageUse(accountID: a, hash: none.hash, at: Fixtures.at(60))
            #expect(try await store.accountImage(accountID: a, hash: none.hash) != nil)
            #expect(try await store.accountImage(accountID: a, legacyHash: "") == nil)
        }
    }

    @Test("the account's images: most recently used first, in pages, filtered", arguments: StoreBackend.all)
    func list(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let a = try await Fixtures.account(in: store).account.id
            let b = try await Fixtures.account(in: store).account.id
            // digit, base image, status, A's use (seconds); ties are broken by hash, descending.
            let table: [(Character, String, CachedImage.Status, Double)] = [
                ("1", "python:3.12", .ready, 30),
                ("2", "node:20", .ready, 10),
                ("3", "python:3.12", .failed, 30),
                ("4", "python:3.12", .building, 20),
                ("5", "node:20", .ready, 10),
                ("6", "python:3.12", .ready, 5),
                ("7", "node:20", .failed, 30),
            ]
            for (digit, base, status, seconds) in table {
                let image = Self.image(digit, base: base, status: status)
                _ = try await store.updateCachedImage(image)
                try await store.recordImageUse(accountID: a, hash: image.hash, at: Fixtures.at(seconds))
            }
            // B's uses: a later use of A's oldest image, and an image A never used.
            try await store.recordImageUse(accountID: b, hash: Self.hash("6"), at: Fixtures.at(100))
            _ = try await store.updateCachedImage(Self.image("8"))
            try await store.recordImageUse(accountID: b, hash: Self.hash("8"), at: Fixtures.at(100))

            var all: [CachedImage] = []
            var sizes: [Int] = []
            var cursor: String?
            repeat {
                let page = try await store.accountImages(
                    accountID: a,
                    baseImage: nil,
                    status: nil,
                    page: PageRequest(limit: 2, cursor: cursor)
                )
                all += page.items
                sizes.append(page.items.count)
                cursor = page.nextCursor
            } while cursor != nil
            // The tie at 30 s straddles the first two pages.
            #expect(sizes == [2, 2, 2, 1])
            #expect(all.map(Self.digit) == ["7", "3", "1", "4", "5", "2", "6"])
            #expect(all.last?.lastUsedAt == Fixtures.at(5))
            #expect(all.first?.status == .failed && all.first?.baseImage == "node:20")

            let whole = try await store.accountImages(accountID: a, baseImage: nil, status: nil, page: PageRequest())
            #expect(whole.items == all && whole.nextCursor == nil)
            let exact = try await store.accountImages(
                accountID: a, baseImage: nil, status: nil, page: PageRequest(limit: 7))
            #expect(exact.items.count == 7 && exact.nextCursor == nil)
            let oneShort = try await store.accountImages(
                accountID: a, baseImage: nil, status: nil, page: PageRequest(limit: 6))
            #expect(oneShort.items.count == 6 && oneShort.nextCursor != nil)

            let python = try await store.accountImages(
                accountID: a, baseImage: "python:3.12", status: nil, page: PageRequest())
            #expect(python.items.map(Self.digit) == ["3", "1", "4", "6"])
            let ready = try await store.accountImages(accountID: a, baseImage: nil, status: .ready, page: PageRequest())
            #expect(ready.items.map(Self.digit) == ["1", "5", "2", "6"])
            let readyNode = try await store.accountImages(
                accountID: a, baseImage: "node:20", status: .ready, page: PageRequest(limit: 1))
            #expect(readyNode.items.map(Self.digit) == ["5"])
            let readyNodeRest = try await store.accountImages(
                accountID: a,
                baseImage: "node:20",
                status: .ready,
                page: PageRequest(limit: 1, cursor: readyNode.nextCursor)
            )
            #expect(readyNodeRest.items.map(Self.digit) == ["2"] && readyNodeRest.nextCursor == nil)
            let building = try await store.accountImages(
                accountID: a, baseImage: "node:20", status: .building, page: PageRequest())
            #expect(building.items.isEmpty)

            let mine = try await store.accountImages(accountID: b, baseImage: nil, status: nil, page: PageRequest())
            #expect(mine.items.map(Self.digit) == ["8", "6"])
            #expect(mine.items.map(\.lastUsedAt) == [Fixtures.at(100), Fixtures.at(100)])

            let badCursor = await #expect(throws: StorageError.self) {
                try await store.accountImages(
                    accountID: a, baseImage: nil, status: nil, page: PageRequest(cursor: "x"))
            }
            #expect(badCursor?.code == .invalidArgument)
        }
    }

    @Test("removing an image removes every account's use of it", arguments: StoreBackend.all)
    func removalCascades(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let a = try await Fixtures.account(in: store).account.id
            let b = try await Fixtures.account(in: store).account.id
            let gone = Self.image("9")
            let kept = Self.image("a")
            for image in [gone, kept] { _ = try await store.updateCachedImage(image) }
            try await store.recordImageUse(accountID: a, hash: gone.hash, at: Fixtures.at(1))
            try await store.recordImageUse(accountID: b, hash: gone.hash, at: Fixtures.at(2))
            try await store.recordImageUse(accountID: a, hash: kept.hash, at: Fixtures.at(3))
            #expect(try await Self.useCount(in: store, hash: gone.hash) == 2)

            #expect(try await store.removeCachedImage(hash: gone.hash))
            #expect(try await store.removeCachedImage(hash: gone.hash) == false)
            #expect(try await store.cachedImage(hash: gone.hash, touchAt: nil) == nil)
            #expect(try await Self.useCount(in: store, hash: gone.hash) == 0)
            #expect(try await store.accountImage(accountID: b, hash: gone.hash) == nil)
            let left = try await store.accountImages(accountID: a, baseImage: nil, status: nil, page: PageRequest())
            #expect(left.items.map(\.hash) == [kept.hash])
        }
    }

    @Test("deleting an account removes its uses, not the images", arguments: StoreBackend.all)
    func accountDeletionCascades(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let a = try await Fixtures.account(in: store).account.id
            let b = try await Fixtures.account(in: store).account.id
            let image = Self.image("b")
            _ = try await store.updateCachedImage(image)
            try await store.recordImageUse(accountID: a, hash: image.hash, at: Fixtures.at(1))
            try await store.recordImageUse(accountID: b, hash: image.hash, at: Fixtures.at(2))

            try await store.database.perform(.write) { connection in
                _ = try connection.query("DELETE FROM accounts WHERE id = $1", [.text(a)])
            }
            #expect(try await Self.useCount(in: store, hash: image.hash) == 1)
            #expect(try await store.accountImage(accountID: a, hash: image.hash) == nil)
            #expect(try await store.accountImage(accountID: b, hash: image.hash)?.lastUsedAt == Fixtures.at(2))
            #expect(try await store.cachedImage(hash: image.hash, touchAt: nil)?.hits == 2)
        }
    }

    @Test("eviction removes unused images and their uses", arguments: StoreBackend.all)
    func eviction(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let a = try await Fixtures.account(in: store).account.id
            let old = Self.image("c")
            let recent = Self.image("d")
            for image in [old, recent] { _ = try await store.updateCachedImage(image) }
            try await store.recordImageUse(accountID: a, hash: old.hash, at: Fixtures.at(10))
            try await store.recordImageUse(accountID: a, hash: recent.hash, at: Fixtures.at(100))

            let evicted = try await store.evictCachedImages(lastUsedBefore: Fixtures.at(50))
            #expect(evicted.map(\.hash) == [old.hash])
            #expect(evicted.first?.setup == old.setup && evicted.first?.status == .ready)
            #expect(try await Self.useCount(in: store, hash: old.hash) == 0)
            let left = try await store.accountImages(accountID: a, baseImage: nil, status: nil, page: PageRequest())
            #expect(left.items.map(\.hash) == [recent.hash])
        }
    }

    @Test("a version-1 database upgrades: its images become ready, built from nothing", arguments: StoreBackend.all)
    func upgradeFromVersion1(backend: StoreBackend) async throws {
        let key = StorageKey.random()
        try await backend.withStore(key: key) { test in
            let hash = Self.hash("e")
            // Back to the version-1 schema, with an image cached by that version.
            try await test.store.database.perform(.write) { connection in
                try connection.executeScript(
                    """
                    DROP TABLE image_users;
                    DROP INDEX image_cache_legacy_hash;
                    ALTER TABLE image_cache DROP COLUMN setup;
                    ALTER TABLE image_cache DROP COLUMN files;
                    ALTER TABLE image_cache DROP COLUMN status;
                    ALTER TABLE image_cache DROP COLUMN failure_message;
                    DELETE FROM schema_migrations WHERE version = 2;
                    """
                )
                _ = try connection.query(
                    """
                    INSERT INTO image_cache (hash, legacy_hash, base_image, image_ref, created_at, hits)
                    VALUES ($1, 'eeee000011112222', 'python:3.12', 'execbox/old', $2, 5)
                    """,
                    [.text(hash), .date(Fixtures.epoch)]
                )
            }
            let upgraded = try await backend.reopen(test, key: key)
            let image = try await upgraded.cachedImage(hash: hash, touchAt: nil)
            await upgraded.close()
            #expect(
                image
                    == CachedImage(
                        hash: hash,
                        legacyHash: "eeee000011112222",
                        baseImage: "python:3.12",
                        imageRef: "execbox/old",
                        createdAt: Fixtures.epoch,
                        hits: 5,
                        setup: [],
                        files: [],
                        status: .ready,
                        failureMessage: ""
                    )
            )
        }
    }

    // MARK: - Helpers

    static func hash(_ digit: Character) -> String { "sha256:" + String(repeating: digit, count: 64) }

    static func digit(_ image: CachedImage) -> Character { image.hash.last ?? "?" }

    static func image(
        _ digit: Character,
        base: String = "python:3.12",
        legacy: String = "",
        status: CachedImage.Status = .ready,
        setup: [String] = ["pip install six"],
        files: [CachedImage.File] = [.init(path: "/workspace/main.py", size: 42)]
    ) -> CachedImage {
        CachedImage(
            hash: hash(digit),
            legacyHash: legacy,
            baseImage: base,
            imageRef: "execbox/\(digit)",
            createdAt: Fixtures.epoch,
            buildDurationMs: 1_500,
            sizeBytes: 10_000_000,
            setup: setup,
            files: files,
            status: status,
            failureMessage: status == .failed ? "step 1 exited with 1" : ""
        )
    }

    /// How many accounts have a use of the image recorded.
    static func useCount(in store: SQLStore, hash: String) async throws -> Int {
        try await store.database.perform(.read) { connection in
            var row = try connection.queryFirst("SELECT COUNT(*) FROM image_users WHERE hash = $1", [.text(hash)])
            return try row?.int() ?? -1
        }
    }

    static func firstUse(in store: SQLStore, accountID: String) async throws -> [Date] {
        try await store.database.perform(.read) { connection in
            try connection.query("SELECT first_used_at FROM image_users WHERE account_id = $1", [.text(accountID)])
                .map {
                    var row = $0
                    return try row.date()
                }
        }
    }
}
