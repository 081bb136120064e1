/// The one error type of every store: an extensible code, a curated message that is safe to log
/// or show (never a secret, an environment value or a database URL), and the underlying cause.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Code
    public var message: String
    /// Set when `code` is `.quotaExceeded`: which limit refused the write.
    public var quota: QuotaViolation?
    /// For logs only; not part of equality.
    public var cause: (any Error & Sendable)?

    public init(
        code: Code,
        message: String,
        quota: QuotaViolation? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.quota = quota
        self.cause = cause
    }

    /// True when the same call may succeed if retried (with the same idempotency key for writes).
    public var isRetryable: Bool { code.isRetryable }

    public var description: String { "\(code): \(message)" }

    public static func == (lhs: StorageError, rhs: StorageError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.quota == rhs.quota
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(quota)
    }
}

extension StorageError {
    /// A storage error code. A struct rather than an enum so that codes can be added without
    /// breaking exhaustive switches in the layers that map them to gRPC and HTTP statuses.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The row asked for does not exist (or belongs to another account).
        public static let notFound = Code(rawValue: "not_found")
        /// A unique value is taken: an id, an email, an idempotency key with another request.
        public static let alreadyExists = Code(rawValue: "already_exists")
        /// The row is in a state that does not allow the change (a terminal session, a primary key).
        public static let failedPrecondition = Code(rawValue: "failed_precondition")
        /// A concurrent or daily session limit refused the insert; see `StorageError.quota`.
        public static let quotaExceeded = Code(rawValue: "quota_exceeded")
        /// A value broke a schema constraint.
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// The database cannot be reached or is restarting; retry with the same idempotency key.
        public static let unavailable = Code(rawValue: "unavailable")
        /// A serialization failure or deadlock; the transaction was rolled back and may be retried.
        public static let aborted = Code(rawValue: "aborted")
        /// The disk is full; nothing was written.
        public static let storageFull = Code(rawValue: "storage_full")
        /// An I/O error (a failed fsync, for one): the store stops accepting writes until reopened.
        public static let ioFailure = Code(rawValue: "io_failure")
        /// A row could not be decoded or decrypted.
        public static let dataCorrupted = Code(rawValue: "data_corrupted")
        /// An applied migration differs from the one this build carries.
        public static let migrationMismatch = Code(rawValue: "migration_mismatch")
        /// The database was migrated by a newer build than this one.
        public static let schemaTooNew = Code(rawValue: "schema_too_new")
        /// Bad configuration: an unreadable key file, a malformed connection URL.
        public static let configuration = Code(rawValue: "configuration")
        public static let `internal` = Code(rawValue: "internal")

        public var isRetryable: Bool { self == .unavailable || self == .aborted }

        public var description: String { rawValue }
    }

    /// Which session limit refused a create, with the numbers for the legacy 429 text.
    public struct QuotaViolation: Hashable, Sendable {
        public enum Scope: String, Hashable, Sendable {
            case accountConcurrent, accountDaily, keyConcurrent, keyDaily
        }

        public var scope: Scope
        public var current: Int
        public var limit: Int

        public init(scope: Scope, current: Int, limit: Int) {
            self.scope = scope
            self.current = current
            self.limit = limit
        }

        /// `concurrent session limit reached (3/5)` or `daily session limit reached (10/10)`.
        public var legacyMessage: String {
            switch scope {
            case .accountConcurrent, .keyConcurrent: "concurrent session limit reached (\(current)/\(limit))"
            case .accountDaily, .keyDaily: "daily session limit reached (\(current)/\(limit))"
            }
        }
    }

    public static func notFound(_ what: String) -> StorageError {
        StorageError(code: .notFound, message: "\(what) not found")
    }
}
