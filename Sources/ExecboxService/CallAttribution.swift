import Synchronization

/// Written by the auth interceptor and the session lookups, read by the request log line that the
/// outer interceptor writes when the call ends (task-locals bound inside do not reach outside).
final class CallAttribution: Sendable {
    private let principal = Mutex<Principal?>(nil)
    private let session = Mutex<String?>(nil)

    var current: Principal? {
        get { principal.withLock { $0 } }
        set { principal.withLock { $0 = newValue } }
    }

    /// The session the call acted on, once it was found in the caller's account.
    var sessionID: String? {
        get { session.withLock { $0 } }
        set { session.withLock { $0 = newValue } }
    }
}
