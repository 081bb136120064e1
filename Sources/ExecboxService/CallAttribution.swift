import Synchronization

/// Written by the auth interceptor, read by the request log line that the outer interceptor
/// writes when the call ends (task-locals bound inside do not reach outside).
final class CallAttribution: Sendable {
    private let principal = Mutex<Principal?>(nil)

    var current: Principal? {
        get { principal.withLock { $0 } }
        set { principal.withLock { $0 = newValue } }
    }
}
