public import NIOCore

/// Where a response goes, whichever protocol carries it: a head, body chunks (each write waits
/// while the client is slower than the producer), the end.
public protocol ResponseSink: Sendable {
    func writeHead(status: Int, headers: [(String, String)]) async throws
    func writeBody(_ chunk: ByteBuffer) async throws
    func finish() async throws
}
