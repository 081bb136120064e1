import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import Testing

@testable import ExecboxService

/// The one StorageError → status mapping.
@Suite struct ServiceErrorsTests {
    @Test func everyStorageCodeHasAStatus() {
        let expected: [(StorageError.Code, RPCError.Code)] = [
            (.notFound, .notFound), (.alreadyExists, .alreadyExists), (.failedPrecondition, .failedPrecondition),
            (.quotaExceeded, .resourceExhausted), (.invalidArgument, .invalidArgument), (.unavailable, .unavailable),
            (.aborted, .unavailable), (.storageFull, .unavailable), (.ioFailure, .internal),
            (.dataCorrupted, .internal), (.migrationMismatch, .internal), (.schemaTooNew, .internal),
            (.configuration, .internal), (.internal, .internal),
        ]
        for (storage, rpc) in expected {
            let mapped = ServiceErrors.rpcError(for: StorageError(code: storage, message: "secret detail"))
            #expect(mapped.code == rpc, "\(storage)")
            if rpc == .internal || rpc == .unavailable {
                #expect(!mapped.message.contains("secret detail"), "\(storage)")
            }
        }
        let quota = StorageError(
            code: .quotaExceeded, message: "x", quota: .init(scope: .accountDaily, current: 10, limit: 10))
        #expect(ServiceErrors.rpcError(for: quota).message == "daily session limit reached (10/10)")
        struct Oops: Error {}
        #expect(ServiceErrors.rpcError(for: Oops()).code == .internal)
        #expect(ServiceErrors.rpcError(for: CancellationError()).code == .cancelled)
    }

    @Test func errorDetailCodes() {
        #expect(ErrorDetails.code(for: .unauthenticated) == .unauthorized)
        #expect(ErrorDetails.code(for: .notFound) == .notFound)
        #expect(ErrorDetails.code(for: .failedPrecondition) == .conflict)
        #expect(ErrorDetails.truncated("aé", toUTF8Bytes: 2) == "a")
    }
}
