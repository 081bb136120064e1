/// The one error type of every sandbox backend: an extensible code, a curated message that is safe to
/// show to the client (never an environment value, a host path of another tenant or a runtime's raw
/// output), and the underlying cause for logs.
public struct SandboxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Code
    public var message: String
    /// For logs only; not part of equality.
    public var cause: (any Error & Sendable)?

    public init(code: Code, message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }

    public static func == (lhs: SandboxError, rhs: SandboxError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}

extension SandboxError {
    /// A sandbox error code. A struct rather than an enum so that codes can be added without breaking
    /// the exhaustive switches of the layers that map them to gRPC and HTTP statuses; `grpcStatusName`
    /// says which status each one is meant to become.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// The `google.rpc.Code` name the service layer maps this code to.
        public let grpcStatusName: String

        public init(rawValue: String, grpcStatusName: String) {
            self.rawValue = rawValue
            self.grpcStatusName = grpcStatusName
        }

        /// The request is malformed or names something the backend does not offer (an unknown image,
        /// a limit out of range, a relative working directory).
        public static let invalidArgument = Code(rawValue: "invalid_argument", grpcStatusName: "INVALID_ARGUMENT")
        /// No such sandbox, exec or file.
        public static let notFound = Code(rawValue: "not_found", grpcStatusName: "NOT_FOUND")
        /// The sandbox exists already.
        public static let alreadyExists = Code(rawValue: "already_exists", grpcStatusName: "ALREADY_EXISTS")
        /// The sandbox's own permissions refuse a file operation (the API acts as the sandbox's root).
        public static let permissionDenied = Code(rawValue: "permission_denied", grpcStatusName: "PERMISSION_DENIED")
        /// The sandbox is not in a state that allows the call (exec in a stopped sandbox), or a file is
        /// not what the call needs (a directory to write, a file to list, a directory not empty).
        public static let failedPrecondition = Code(
            rawValue: "failed_precondition",
            grpcStatusName: "FAILED_PRECONDITION"
        )
        /// An offset outside what is kept: before the first retained byte of an exec's output, or
        /// beyond its end.
        public static let outOfRange = Code(rawValue: "out_of_range", grpcStatusName: "OUT_OF_RANGE")
        /// A host-wide limit is reached (too many sandboxes, no free user-id range).
        public static let resourceExhausted = Code(
            rawValue: "resource_exhausted",
            grpcStatusName: "RESOURCE_EXHAUSTED"
        )
        /// The runtime cannot be used right now (missing, refused to start, the host is out of memory);
        /// the same call may succeed later.
        public static let unavailable = Code(rawValue: "unavailable", grpcStatusName: "UNAVAILABLE")
        /// The backend does not offer this (yet): a TTY, a network mode it cannot set up.
        public static let unimplemented = Code(rawValue: "unimplemented", grpcStatusName: "UNIMPLEMENTED")
        /// A bug or an unexpected runtime answer.
        public static let `internal` = Code(rawValue: "internal", grpcStatusName: "INTERNAL")

        public var isRetryable: Bool { self == .unavailable }

        public var description: String { rawValue }

        public static func == (lhs: Code, rhs: Code) -> Bool { lhs.rawValue == rhs.rawValue }

        public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
    }

    public static func invalidArgument(_ message: String) -> SandboxError {
        SandboxError(code: .invalidArgument, message: message)
    }

    public static func notFound(_ id: SandboxID) -> SandboxError {
        SandboxError(code: .notFound, message: "sandbox \(id) not found")
    }

    public static func notFound(_ id: ExecID, in sandbox: SandboxID) -> SandboxError {
        SandboxError(code: .notFound, message: "exec \(id) not found in sandbox \(sandbox)")
    }
}
