import Foundation

/// Runs a blocking call (a helper process, a pipe read) on a thread of its own, so that tests
/// never hold one of the cooperative pool's few threads while they wait.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
