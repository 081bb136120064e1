import ExecboxStorage
import ExecboxStorageSQL
import Foundation

/// Builders for the values the tests store. Times are whole microseconds, as stored.
enum Fixtures {
    static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    static func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_800_000_000 + seconds) }

    static func audit(_ by: String = "system: test", at seconds: Double = 0) -> AuditContext {
        AuditContext(performedBy: by, requestID: "req-1", sourceIP: "127.0.0.1", at: at(seconds))
    }

    struct Owner: Sendable {
        var account: Account
        var key: APIKeyRecord
        var secret: String
    }

    /// A new account with its primary key and default limits.
    static func account(
        in store: SQLStore,
        email: String? = nil,
        tier: Tier = .free,
        uniqueEmail: Bool = false
    ) async throws -> Owner {
        let accountID = UUID().uuidString.lowercased()
        let keyID = UUID().uuidString.lowercased()
        let secret = APIKeySecret.generate()
        let key = APIKeyRecord(
            id: keyID,
            accountID: accountID,
            parentKeyID: nil,
            secret: secret,
            name: "primary",
            createdAt: epoch,
            createdBy: "system: signup"
        )
        let account = Account(
            id: accountID,
            email: email ?? "\(accountID)@example.com",
            tier: tier,
            createdAt: epoch,
            primaryKeyID: keyID
        )
        _ = try await store.createAccount(
            account,
            primaryKey: key,
            limits: AccountLimits(
                accountID: accountID, dailyRequestsLimit: 100, concurrentRequestsLimit: 5, updatedAt: epoch),
            waitlist: WaitlistEntry(email: account.email, name: "Ada", createdAt: epoch),
            uniqueEmail: uniqueEmail,
            audit: audit()
        )
        return Owner(account: account, key: key, secret: secret)
    }

    static func session(
        _ owner: Owner,
        id: String = "sess_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(24),
        at seconds: Double = 0,
        labels: [String: String] = [:],
        keyID: String? = nil
    ) -> SessionRecord {
        SessionRecord(
            id: id,
            accountID: owner.account.id,
            apiKeyID: keyID ?? owner.key.id,
            spec: SessionSpec(
                image: "python:3.12",
                command: ["python", "-c", "print(1)"],
                envKeys: ["API_TOKEN"],
                resources: .init(cpuMillicores: 500, memoryMB: 256, timeoutMs: 60_000),
                ports: [.init(containerPort: 8080)],
                labels: labels
            ),
            backend: "runc",
            createdAt: at(seconds)
        )
    }
}
