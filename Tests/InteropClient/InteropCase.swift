/// One named interop case; `all` runs every one of them in this order.
struct InteropCase: Sendable {
    let name: String
    let run: @Sendable (InteropContext) async throws -> Void

    static let all: [InteropCase] = [
        InteropCase(name: "empty_unary", run: UnaryCases.emptyUnary),
        InteropCase(name: "large_unary", run: UnaryCases.largeUnary),
        InteropCase(name: "client_compressed_unary", run: UnaryCases.clientCompressedUnary),
        InteropCase(name: "server_compressed_unary", run: UnaryCases.serverCompressedUnary),
        InteropCase(name: "client_streaming", run: StreamingCases.clientStreaming),
        InteropCase(name: "client_compressed_streaming", run: StreamingCases.clientCompressedStreaming),
        InteropCase(name: "server_streaming", run: StreamingCases.serverStreaming),
        InteropCase(name: "server_compressed_streaming", run: StreamingCases.serverCompressedStreaming),
        InteropCase(name: "ping_pong", run: StreamingCases.pingPong),
        InteropCase(name: "empty_stream", run: StreamingCases.emptyStream),
        InteropCase(name: "cancel_after_begin", run: CallControlCases.cancelAfterBegin),
        InteropCase(name: "cancel_after_first_response", run: CallControlCases.cancelAfterFirstResponse),
        InteropCase(name: "timeout_on_sleeping_server", run: CallControlCases.timeoutOnSleepingServer),
        InteropCase(name: "custom_metadata", run: CallControlCases.customMetadata),
        InteropCase(name: "status_code_and_message", run: UnaryCases.statusCodeAndMessage),
        InteropCase(name: "special_status_message", run: UnaryCases.specialStatusMessage),
        InteropCase(name: "unimplemented_method", run: UnaryCases.unimplementedMethod),
        InteropCase(name: "unimplemented_service", run: UnaryCases.unimplementedService),
        InteropCase(name: "rpc_soak", run: SoakCases.rpcSoak),
        InteropCase(name: "channel_soak", run: SoakCases.channelSoak),
        InteropCase(name: "concurrent_large_unary", run: SoakCases.concurrentLargeUnary),
    ]
}
