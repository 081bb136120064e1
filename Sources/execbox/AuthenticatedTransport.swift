import ExecboxGRPC
import ExecboxRPC

/// The gRPC transport with the API key added to every call, and the server's trailing metadata
/// kept on a failed call's ``RPCError`` (the generated clients drop it), so the CLI can read the
/// `execbox-error-bin` detail: the request id and when to retry.
struct AuthenticatedTransport: ClientTransport {
    let base: GRPCClientTransport
    let apiKey: String?

    func call<Result: Sendable>(
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result {
        var metadata = metadata
        if let apiKey { metadata.add("authorization", "Bearer \(apiKey)") }
        return try await base.call(method, metadata: metadata, options: options) { outbound, inbound in
            do {
                return try await body(outbound, inbound)
            } catch var error as RPCError {
                if error.metadata.isEmpty { error.metadata = inbound.trailingMetadata }
                throw error
            }
        }
    }
}
