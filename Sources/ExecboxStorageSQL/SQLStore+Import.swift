public import ExecboxStorage

extension SQLStore {
    public func importAccount(_ account: Account, keys: [APIKeyRecord], limits: AccountLimits?) async throws -> Bool {
        try await write { connection in
            guard
                try connection.queryFirst("SELECT id FROM accounts WHERE id = $1", [.text(account.id)]) == nil
            else { return false }
            try Self.insertAccount(account, emailKey: nil, on: connection)
            for key in keys { try Self.insertAPIKey(key, ifAbsent: true, on: connection) }
            if let limits { try Self.insertLimits(limits, ifAbsent: true, on: connection) }
            return true
        }
    }

    public func importSession(_ session: SessionRecord, environment: [String: String]) async throws -> Bool {
        try await write { connection in
            try self.insertSession(session, environment: environment, ifAbsent: true, on: connection)
        }
    }

    public func importQuotaRequest(_ request: QuotaRequest, legacyID: Int64) async throws -> Bool {
        try await write { connection in
            try Self.insertQuotaRequest(request, legacyID: legacyID, on: connection) != nil
        }
    }
}
