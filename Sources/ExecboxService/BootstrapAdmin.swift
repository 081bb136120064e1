import ExecboxStorage
import Foundation

/// The first start of a server on an empty store: an admin account on the unlimited tier and its
/// primary key, written (the key alone, one line) to a private file before the account is
/// committed, so there is never an admin whose key nobody has. Later starts find the account and
/// do nothing. The account id is fixed, so servers sharing one PostgreSQL database create it
/// once: the loser of a race gets ALREADY_EXISTS and takes its file back.
public struct BootstrapAdmin: Sendable {
    public static let accountID = "00000000-0000-4000-8000-000000000001"
    public static let keyName = "bootstrap admin"

    public let administration: AccountAdministration

    public init(administration: AccountAdministration) {
        self.administration = administration
    }

    /// The minted key on first start, nil when the admin account already exists.
    public func run(keyFile: String) async throws -> AccountAdministration.MintedKey? {
        if try await administration.store.account(id: Self.accountID) != nil { return nil }
        var written: String?
        do {
            return try await administration.createAccount(
                id: Self.accountID, email: "", keyName: Self.keyName, tier: TierTable.unlimitedTier,
                uniqueEmail: false, audit: AuditContext(performedBy: "system: bootstrap", at: administration.now()),
                beforeCommit: { secret in
                    try SecretFile.write(secret + "\n", to: keyFile)
                    written = secret
                })
        } catch let error as StorageError where error.code == .alreadyExists {
            if let written, (try? String(contentsOfFile: keyFile, encoding: .utf8)) == written + "\n" {
                try? FileManager.default.removeItem(atPath: keyFile)
            }
            return nil
        }
    }
}
