import ExecboxAPI
import ExecboxRPC
import ExecboxWire

extension CLIError {
    /// A failed call as one line (the server's message, which never carries secrets) and what
    /// to do about it, by status code.
    init(rpc error: RPCError, config: ClientConfig?) {
        let detail = Self.detail(error.metadata)
        let server = error.message.isEmpty ? "\(error.code)" : error.message
        let url = config.map { "\($0.url)" } ?? "the server"
        var message: String
        var hint: String?
        switch error.code {
        case .unauthenticated:
            switch config?.keySource ?? .none {
            case .environment:
                message = "the server refused the API key in EXECBOX_API_KEY"
                hint =
                    "check the key (revoked or expired keys are refused), or unset EXECBOX_API_KEY to use `execbox login`'s"
            case .configFile(let path):
                message = "the server refused the API key saved in \(path)"
                hint = "run `execbox login` with a valid key"
            case .none:
                message = "the server refused the API key"
                hint = "check the key; revoked or expired keys are refused"
            }
        case .unavailable:
            message = "\(url) is unavailable: \(server)"
            hint = "check that execbox-server runs there and retry"
        case .notFound:
            message = server
            hint = "check the id: `execbox sessions ls` and `execbox keys ls` list yours"
        case .alreadyExists:
            message = server
        case .permissionDenied:
            message = server
            hint = "`execbox usage` shows your tier's limits"
        case .resourceExhausted:
            message = server
            if server.contains("rate limit") {
                hint = "slow down and retry"
            } else if server.contains("session limit") || server.contains("budget") {
                hint = "`execbox usage` shows your quota; end sessions with `execbox sessions kill ID`"
            }
        case .failedPrecondition:
            message = server
            if server.contains("session") { hint = "`execbox sessions get ID` shows the session's state" }
        case .invalidArgument, .outOfRange:
            message = server
            hint = "see the command's --help"
        case .deadlineExceeded:
            message = "the call took too long: \(server)"
            hint = "retry; the server or the network may be slow"
        case .unimplemented:
            message = "the server does not offer this: \(server)"
            hint = "it may run without a sandbox backend (--backend none) or be an older version"
        case .cancelled:
            // Also a stream the server reset with CANCEL (it cancels one whose peer stopped
            // reading or went quiet): its message says so.
            message = error.message.isEmpty ? "the call was cancelled" : "the call was cancelled: \(server)"
            hint = "retry"
        default:
            message = "the server failed: \(server)"
            hint = "retry; if it keeps failing, report it with the request id"
        }
        if let detail, detail.retryAfterMs > 0 {
            let seconds = (detail.retryAfterMs + 999) / 1000
            hint = "retry in \(seconds) s"
        }
        let serverFault: Set<RPCError.Code> = [.internal, .unknown, .dataLoss]
        if serverFault.contains(error.code), let requestID = detail?.requestId, !requestID.isEmpty {
            message += " (request id \(requestID))"
        }
        self.init(message, hint: hint)
    }

    private static func detail(_ metadata: Metadata) -> ErrorDetail? {
        for entry in metadata where entry.key == "execbox-error-bin" {
            if case .binary(let bytes) = entry.value, let detail = try? ErrorDetail(serializedBytes: bytes) {
                return detail
            }
        }
        return nil
    }
}
