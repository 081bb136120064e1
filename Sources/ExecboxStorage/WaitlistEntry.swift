public import Foundation

/// A sign-up, kept alongside the account it created.
public struct WaitlistEntry: Hashable, Sendable {
    public var id: Int64?
    public var email: String
    public var name: String
    public var accountID: String?
    public var sourceIP: String
    public var createdAt: Date

    public init(
        id: Int64? = nil, email: String, name: String = "", accountID: String? = nil, sourceIP: String = "",
        createdAt: Date
    ) {
        self.id = id
        self.email = email
        self.name = name
        self.accountID = accountID
        self.sourceIP = sourceIP
        self.createdAt = createdAt
    }
}
