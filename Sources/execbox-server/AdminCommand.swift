import ArgumentParser
import ExecboxService
import ExecboxStorage
import ExecboxStorageSQL
import Foundation

/// `execbox-server admin …`: operator changes made directly in the store the server uses (same
/// --data-dir / --database-url / EXECBOX_STORAGE_KEY), with or without a server running.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Manage accounts, keys, tiers and quota requests in the server's store.",
        discussion: """
            Output is one `name: value` line per field (lists are tab-separated with a header), so \
            scripts can read it. A key's secret appears only in the output of the command that made it.
            """,
        subcommands: [
            CreateAccountCommand.self, CreateKeyCommand.self, SetTierCommand.self, ListQuotaRequestsCommand.self,
            AnswerQuotaRequestCommand.self,
        ]
    )

    /// Opens the store, runs `body` with the administration over it, closes the store.
    static func withAdministration<T: Sendable>(
        _ options: StoreOptions, _ body: (AccountAdministration) async throws -> T
    ) async throws -> T {
        let settings = try StoreSettings(options, environment: ProcessInfo.processInfo.environment)
        try settings.prepareDataDirectory()
        let store = try await settings.openStore()
        do {
            let result = try await body(AccountAdministration(store: store, tiers: .defaults))
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    static func tier(_ text: String) throws -> Tier {
        guard let tier = Tier(rawValue: text) else {
            throw ValidationError(
                "unknown tier '\(text)': one of \(Tier.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return tier
    }

    static func date(_ text: String?) throws -> Date? {
        guard let text else { return nil }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw ValidationError("expected an RFC 3339 time such as 2030-01-31T00:00:00Z, got '\(text)'")
        }
        return date
    }

    static func printMinted(_ minted: AccountAdministration.MintedKey) {
        print(
            """
            account_id: \(minted.account.id)
            tier: \(minted.account.tier.rawValue)
            key_id: \(minted.key.id)
            role: \(minted.key.isPrimary ? "primary" : "secondary")
            secret: \(minted.secret)
            """)
    }
}

struct CreateAccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-account", abstract: "Create an account with its primary key; prints the key once.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Contact email (unique among accounts).") var email: String
    @Option(help: "Tier: anonymous, free, starter, pro or enterprise.") var tier: String = "free"
    @Option(help: "Name of the primary key.") var name: String = ""

    func run() async throws {
        let tier = try AdminCommand.tier(tier)
        let minted = try await AdminCommand.withAdministration(store) { admin in
            try await admin.createAccount(email: email, keyName: name, tier: tier, uniqueEmail: true)
        }
        AdminCommand.printMinted(minted)
    }
}

struct CreateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-key", abstract: "Create a secondary key in an account; prints the key once.")

    @OptionGroup var store: StoreOptions
    @Option(help: "The account's id.") var account: String
    @Option(help: "Name of the key.") var name: String = ""
    @Option(help: "When the key stops working (RFC 3339).") var expiresAt: String?

    func run() async throws {
        let expiresAt = try AdminCommand.date(expiresAt)
        let minted = try await AdminCommand.withAdministration(store) { admin in
            try await admin.createKey(accountID: account.lowercased(), name: name, expiresAt: expiresAt)
        }
        AdminCommand.printMinted(minted)
    }
}

struct SetTierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-tier", abstract: "Change an account's tier (limits and request rates follow at once).")

    @OptionGroup var store: StoreOptions
    @Option(help: "The account's id.") var account: String
    @Option(help: "Tier: anonymous, free, starter, pro or enterprise.") var tier: String
    @Option(help: "When the tier falls back to free (RFC 3339); default: never.") var expiresAt: String?

    func run() async throws {
        let tier = try AdminCommand.tier(tier)
        let expiresAt = try AdminCommand.date(expiresAt)
        let updated = try await AdminCommand.withAdministration(store) { admin in
            try await admin.setTier(accountID: account.lowercased(), tier: tier, expiresAt: expiresAt)
        }
        print("account_id: \(updated.id)\ntier: \(updated.tier.rawValue)")
        if let expires = updated.tierExpiresAt { print("tier_expires_at: \(expires.ISO8601Format())") }
    }
}

struct ListQuotaRequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-quota-requests", abstract: "List quota requests, oldest first.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Only this status: pending, contacted, converted or declined; default: all.") var status: String?

    func run() async throws {
        let status = try status.map(AnswerQuotaRequestCommand.status)
        let requests = try await AdminCommand.withAdministration(store) { admin in
            var all: [QuotaRequest] = []
            var page = PageRequest(limit: 1000)
            while true {
                let result = try await admin.quotaRequests(status: status, page: page)
                all += result.items
                guard let next = result.nextCursor else { return all }
                page.cursor = next
            }
        }
        print(
            [
                "id", "status", "created_at", "email", "name", "company", "tier", "account_id", "requested_limits",
                "budget", "use_case",
            ].joined(separator: "\t"))
        for request in requests {
            let fields = [
                request.id.map(String.init) ?? "", request.status.rawValue, request.createdAt.ISO8601Format(),
                request.email, request.name, request.company, request.currentTier?.rawValue ?? "",
                request.accountID ?? "", request.requestedLimits, request.budget, request.useCase,
            ]
            print(
                fields.map { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
                    .joined(separator: "\t"))
        }
    }
}

struct AnswerQuotaRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer-quota-request",
        abstract: "Set a quota request's status (raise the tier itself with set-tier).")

    @OptionGroup var store: StoreOptions
    @Option(help: "The request's id.") var id: Int64
    @Option(help: "contacted, converted, declined (or pending).") var status: String

    static func status(_ text: String) throws -> QuotaRequest.Status {
        guard let status = QuotaRequest.Status(rawValue: text) else {
            throw ValidationError("unknown status '\(text)': one of pending, contacted, converted, declined")
        }
        return status
    }

    func run() async throws {
        let status = try Self.status(status)
        let answered = try await AdminCommand.withAdministration(store) { admin in
            try await admin.answerQuotaRequest(id: id, status: status)
        }
        print("id: \(answered.id.map(String.init) ?? "")\nstatus: \(answered.status.rawValue)")
    }
}
