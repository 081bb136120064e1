import ExecboxAPI
import ExecboxRPC
import ExecboxWire

/// The Execbox calls that need no API key (account.proto marks them public).
enum PublicMethods {
    static let paths: Set<String> = [
        AccountServiceMethods.joinWaitlist.path,
        AccountServiceMethods.requestQuota.path,
    ]
}
