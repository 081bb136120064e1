import ExecboxGRPC
import ExecboxInterop
import ExecboxRPC
import ExecboxWire

/// Cancellation, deadlines and metadata: the cases that need more than the generated client's
/// calls (a cancelled task, a deadline, the response metadata).
enum CallControlCases {
    static let initialKey = "x-grpc-test-echo-initial"
    static let trailingKey = "x-grpc-test-echo-trailing-bin"

    static func cancelAfterBegin(_ context: InteropContext) async throws {
        let outcome = await cancelling { begun in
            _ = try await context.client.streamingInputCall { _ in
                begun()
                try await Task.sleep(for: .seconds(60))
            }
        }
        try expectCancelled(outcome, "cancel_after_begin")
    }

    static func cancelAfterFirstResponse(_ context: InteropContext) async throws {
        let outcome = await cancelling { begun in
            try await context.transport.call(
                Grpc_Testing_TestServiceMethods.fullDuplexCall,
                metadata: [],
                options: CallOptions()
            ) { outbound, inbound in
                let request = Grpc_Testing_StreamingOutputCallRequest.with {
                    $0.responseParameters = [.with { $0.size = 31_415 }]
                    $0.payload = InteropContext.zeros(27_182)
                }
                try await outbound.messages.write(request.serializedBytes())
                var responses = inbound.messages.makeAsyncIterator()
                guard let bytes = try await responses.next() else {
                    throw InteropFailure("cancel_after_first_response: the call ended without a response")
                }
                let response = try RPCCodec.decode(Grpc_Testing_StreamingOutputCallResponse.self, bytes)
                try expectZeros(response.payload?.body, size: 31_415, "cancel_after_first_response")
                begun()
                _ = try await responses.next()
                throw InteropFailure("cancel_after_first_response: the call went on after it was cancelled")
            }
        }
        try expectCancelled(outcome, "cancel_after_first_response")
    }

    static func timeoutOnSleepingServer(_ context: InteropContext) async throws {
        try await expectStatus(.deadlineExceeded, "timeout_on_sleeping_server") {
            try await context.transport.call(
                Grpc_Testing_TestServiceMethods.fullDuplexCall,
                metadata: [],
                options: CallOptions(timeout: .milliseconds(1))
            ) { outbound, inbound in
                let request = Grpc_Testing_StreamingOutputCallRequest.with { $0.payload = InteropContext.zeros(27_182) }
                // The server may have ended the call (DEADLINE_EXCEEDED after 1 ms) before the
                // request goes out: the status it sent decides, as in `ClientCall`.
                do {
                    try await outbound.messages.write(request.serializedBytes())
                } catch is OutboundClosedError {}
                for try await _ in inbound.messages {}
            }
        }
    }

    /// The initial value comes back in the response headers, the binary one byte-exact in the
    /// trailers, on a unary and on a full-duplex call.
    static func customMetadata(_ context: InteropContext) async throws {
        var metadata = Metadata()
        metadata.add(initialKey, "test_initial_metadata_value")
        metadata.add(trailingKey, .binary([0xAB, 0xAB, 0xAB]))
        let unary = try await context.transport.call(
            Grpc_Testing_TestServiceMethods.unaryCall,
            metadata: metadata,
            options: CallOptions()
        ) { outbound, inbound in
            try await outbound.messages.write(InteropContext.largeRequest.serializedBytes())
            try await halfClose(outbound)
            let response = try await RPCCodec.single(Grpc_Testing_SimpleResponse.self, from: inbound.messages)
            try expectZeros(response.payload?.body, size: 314_159, "custom_metadata (unary)")
            return (try await inbound.initialMetadata(), inbound.trailingMetadata)
        }
        try expectEchoed(unary, "custom_metadata (unary)")
        let duplex = try await context.transport.call(
            Grpc_Testing_TestServiceMethods.fullDuplexCall,
            metadata: metadata,
            options: CallOptions()
        ) { outbound, inbound in
            let request = Grpc_Testing_StreamingOutputCallRequest.with {
                $0.responseParameters = [.with { $0.size = 314_159 }]
                $0.payload = InteropContext.zeros(271_828)
            }
            try await outbound.messages.write(request.serializedBytes())
            try await halfClose(outbound)
            var count = 0
            for try await bytes in inbound.messages {
                let response = try RPCCodec.decode(Grpc_Testing_StreamingOutputCallResponse.self, bytes)
                try expectZeros(response.payload?.body, size: 314_159, "custom_metadata (full duplex)")
                count += 1
            }
            try expect(count == 1, "custom_metadata (full duplex): \(count) responses, expected 1")
            return (try await inbound.initialMetadata(), inbound.trailingMetadata)
        }
        try expectEchoed(duplex, "custom_metadata (full duplex)")
    }

    /// A server may answer and close (RST_STREAM NO_ERROR after its trailers) before the request's
    /// END_STREAM went out (RFC 9113 §8.1): the answer decides, as in `ClientCall`.
    private static func halfClose(_ outbound: RPCOutbound) async throws {
        do {
            try await outbound.finish()
        } catch is OutboundClosedError {
            return
        }
    }

    private static func expectEchoed(_ received: (initial: Metadata, trailing: Metadata), _ what: String) throws {
        let initial = received.initial[stringValues: initialKey]
        try expect(
            initial == ["test_initial_metadata_value"],
            "\(what): \(initialKey) in the response headers is \(initial), expected [test_initial_metadata_value]")
        let trailing = received.trailing.compactMap { entry -> [UInt8]? in
            guard entry.key == trailingKey, case .binary(let bytes) = entry.value else { return nil }
            return bytes
        }
        try expect(
            trailing == [[0xAB, 0xAB, 0xAB]],
            "\(what): \(trailingKey) in the trailers is \(trailing), expected [[171, 171, 171]]")
    }

    /// Runs a call in a child task and cancels that task once `body` says the call has begun
    /// (or when the call ends first); returns how the call ended.
    private static func cancelling(
        _ body: @escaping @Sendable (_ begun: @escaping @Sendable () -> Void) async throws -> Void
    ) async -> Result<Void, any Error> {
        let (signal, continuation) = AsyncStream<Void>.makeStream()
        return await withTaskGroup(of: Result<Void, any Error>.self) { group in
            group.addTask {
                defer { continuation.finish() }
                do {
                    try await body { continuation.yield() }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            for await _ in signal { break }
            group.cancelAll()
            return await group.next() ?? .success(())
        }
    }

    /// A cancelled call ends with CancellationError locally, or CANCELLED if the transport
    /// reports it as a status; anything else (success included) fails the case.
    private static func expectCancelled(_ outcome: Result<Void, any Error>, _ what: String) throws {
        switch outcome {
        case .success:
            throw InteropFailure("\(what): the call succeeded, expected CANCELLED")
        case .failure(let error as RPCError):
            try expect(error.code == .cancelled, "\(what): expected CANCELLED, got \(error.code): \(error.message)")
        case .failure(is CancellationError):
            return
        case .failure(let error):
            throw InteropFailure("\(what): expected CANCELLED, got \(error)")
        }
    }
}
