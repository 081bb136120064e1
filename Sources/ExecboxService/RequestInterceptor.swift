public import ExecboxRPC
import Foundation
public import Logging

/// The outermost interceptor: gives each call a request id (the client's `x-request-id` when it
/// is sane, else a new one, echoed in the response headers), binds ``RequestInfo/current``, maps
/// whatever the call threw to one gRPC status (``ServiceErrors``) with an `execbox-error-bin`
/// detail, and writes one log line per call. Log lines carry ids, never key strings.
public struct RequestInterceptor: ServerInterceptor {
    public static let requestIDKey = "x-request-id"
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws {
        let info = RequestInfo(
            requestID: Self.requestID(from: context.metadata),
            clientIP: RequestInfo.clientIP(fromPeer: context.peer))
        context.call.addInitialMetadata(Self.requestIDKey, .string(info.requestID))
        let started = ContinuousClock.now
        var failure: RPCError?
        do {
            try await RequestInfo.$current.withValue(info) { try await next(requests, responses, context) }
        } catch {
            failure = ServiceErrors.rpcError(for: error)
        }
        let elapsed = ContinuousClock.now - started
        var metadata: Logger.Metadata = [
            "rpc": "\(context.method.path)",
            "request_id": "\(info.requestID)",
            "client_ip": "\(info.clientIP)",
            "status": "\(failure?.code ?? .ok)",
            "duration_ms": "\(String(format: "%.3f", elapsed / .milliseconds(1)))",
        ]
        if let principal = info.attribution.current {
            metadata["account_id"] = "\(principal.accountID)"
            metadata["key_id"] = "\(principal.keyID)"
        }
        if let sessionID = info.attribution.sessionID { metadata["session_id"] = "\(sessionID)" }
        // Health checks and reflection are frequent and uninteresting.
        let level: Logger.Level = context.method.service.hasPrefix("grpc.") ? .debug : .info
        guard let failure else {
            logger.log(level: level, "call finished", metadata: metadata)
            return
        }
        if failure.code == .internal || failure.code == .unknown, let cause = failure.cause {
            metadata["cause"] = "\(cause)"
            logger.error("call failed", metadata: metadata)
        } else {
            logger.log(level: level, "call failed", metadata: metadata)
        }
        throw ErrorDetails.add(for: failure, requestID: info.requestID, to: context.call)
    }

    /// The client's request id if it is 1...128 printable ASCII characters, else a new one.
    static func requestID(from metadata: Metadata) -> String {
        if let given = metadata.first(requestIDKey), !given.isEmpty, given.utf8.count <= 128,
            given.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        {
            return given
        }
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
    }
}
