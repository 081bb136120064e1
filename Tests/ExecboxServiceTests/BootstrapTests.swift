import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// The first start's admin account and key file; what later starts do.
@Suite struct BootstrapTests {
    @Test func theFirstRunMintsOnceAndWritesAPrivateFile() async throws {
        try await withFixture { fixture in
            let file = fixture.directory + "/bootstrap-admin.key"
            let bootstrap = BootstrapAdmin(administration: fixture.stack.administration)
            let minted = try #require(try await bootstrap.run(keyFile: file))
            #expect(minted.account.id == BootstrapAdmin.accountID)
            #expect(minted.account.tier == TierTable.unlimitedTier)
            #expect(try String(contentsOfFile: file, encoding: .utf8) == minted.secret + "\n")
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: fixture.directory).allSatisfy {
                    !$0.contains(".tmp-")
                }
            )

            let admin = Caller(accountID: minted.account.id, keyID: minted.key.id, secret: minted.secret)
            let account = try await fixture.client.getAccount(.init(), metadata: admin.metadata)
            #expect(account.account?.tier == .enterprise)
            #expect(account.callerKey?.isPrimary == true)
            #expect(account.callerKey?.name == BootstrapAdmin.keyName)

            #expect(try await bootstrap.run(keyFile: file) == nil)
            #expect(try String(contentsOfFile: file, encoding: .utf8) == minted.secret + "\n")
            let log = try await fixture.client.listAuditLog(.init(), metadata: admin.metadata)
            #expect(log.events.first?.performedBy == "system: bootstrap")
        }
    }

    @Test func aFileThatCannotBeWrittenCreatesNoAccount() async throws {
        try await withFixture { fixture in
            let bootstrap = BootstrapAdmin(administration: fixture.stack.administration)
            await #expect(throws: SecretFile.WriteError.self) {
                _ = try await bootstrap.run(keyFile: fixture.directory + "/missing/dir/key")
            }
            let account = try await fixture.store.account(id: BootstrapAdmin.accountID)
            #expect(account == nil)
        }
    }

    @Test func administration() async throws {
        try await withFixture { fixture in
            let admin = fixture.stack.administration
            let minted = try await admin.createAccount(
                email: "ops@example.com", keyName: "ops", tier: .starter, uniqueEmail: true)
            let key = try await admin.createKey(accountID: minted.account.id, name: "deploy")
            #expect(key.key.parentKeyID == minted.key.id)
            #expect(APIKeyFormat.parse(key.secret) == .execbox(role: .secondary, keyID: key.key.id))
            let caller = Caller(accountID: minted.account.id, keyID: key.key.id, secret: key.secret)
            #expect(try await fixture.client.getAccount(.init(), metadata: caller.metadata).account?.tier == .starter)
            _ = try await admin.setTier(accountID: minted.account.id, tier: .pro)
            #expect(try await fixture.client.getAccount(.init(), metadata: caller.metadata).account?.tier == .pro)
            await #expect(throws: StorageError.self) {
                _ = try await admin.createKey(accountID: UUID().uuidString.lowercased(), name: "x")
            }

            let request = try await fixture.client.requestQuota(
                .with {
                    $0.email = "ops@example.com"
                    $0.useCase = "CI"
                }, metadata: caller.metadata)
            let id = try #require(request.quotaRequest?.id)
            let pending = try await admin.quotaRequests(status: .pending, page: PageRequest())
            #expect(pending.items.map(\.id) == [id])
            #expect(pending.items.first?.accountID == minted.account.id)
            let answered = try await admin.answerQuotaRequest(id: id, status: .converted)
            #expect(answered.status == .converted)
            #expect(answered.respondedAt != nil)
            #expect(try await admin.quotaRequests(status: .pending, page: PageRequest()).items.isEmpty)
        }
    }
}
