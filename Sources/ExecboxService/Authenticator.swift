public import ExecboxStorage
public import Foundation
public import Logging

/// Turns a bearer token into a ``Principal``: format and checksum first (no database round trip
/// for garbage), then the SHA-256 lookup, a constant-time comparison of the stored hash, the
/// embedded id and role, revocation and expiry, and the account's tier. Nothing is cached, so a
/// revoked or rotated key fails on its next call.
public struct Authenticator: Sendable {
    public let store: any ExecboxStore
    public let now: @Sendable () -> Date
    /// `last_used_at` is written at most this often per key.
    public let lastUsedInterval: TimeInterval
    let logger: Logger

    public init(
        store: any ExecboxStore,
        now: @escaping @Sendable () -> Date = { Date() },
        lastUsedInterval: TimeInterval = 60,
        logger: Logger = Logger(label: "execbox.auth")
    ) {
        self.store = store
        self.now = now
        self.lastUsedInterval = lastUsedInterval
        self.logger = logger
    }

    /// The principal `token` authenticates, nil when it does not (malformed, unknown, revoked,
    /// expired, rotated away). Throws only when the store fails.
    public func authenticate(token: String) async throws -> Principal? {
        guard let presented = APIKeyFormat.parse(token) else { return nil }
        let now = now()
        let hash = APIKeyHash(secret: token)
        // The key and its account in one round trip to the store.
        guard let (key, account) = try await store.apiKeyAndAccount(secretHash: hash, now: now),
            Self.matches(key, hash, at: now)
        else {
            return nil
        }
        if case .execbox(let role, let keyID) = presented {
            guard keyID == key.id.lowercased(), role == (key.isPrimary ? .primary : .secondary) else { return nil }
        }
        guard key.canAuthenticate(at: now) else { return nil }
        await touch(key, at: now)
        let tier = account.tierExpiresAt.map { $0 <= now } == true ? Tier.free : account.tier
        return Principal(
            accountID: account.id, keyID: key.id, role: key.isPrimary ? .primary : .secondary, tier: tier)
    }

    /// The stored hash (or the previous one during a rotation grace period) equals `hash`,
    /// compared in constant time.
    static func matches(_ key: APIKeyRecord, _ hash: APIKeyHash, at now: Date) -> Bool {
        if ConstantTime.equal(key.secretHash.bytes, hash.bytes) { return true }
        guard let previous = key.previousSecretHash, let until = key.previousSecretExpiresAt, until > now else {
            return false
        }
        return ConstantTime.equal(previous.bytes, hash.bytes)
    }

    /// Records the use at most once per interval; a failure here does not fail the call.
    private func touch(_ key: APIKeyRecord, at now: Date) async {
        if let last = key.lastUsedAt, now.timeIntervalSince(last) < lastUsedInterval { return }
        do {
            _ = try await store.touchAPIKey(id: key.id, at: now, minimumInterval: lastUsedInterval)
        } catch {
            logger.warning("cannot record the key's last use", metadata: ["key_id": "\(key.id)", "error": "\(error)"])
        }
    }
}
