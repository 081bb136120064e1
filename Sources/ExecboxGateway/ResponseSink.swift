public import NIOCore

/// Where a response goes, whichever protocol carries it: a head, body chunks (each write waits
/// while the client is slower than the producer), the end.
public protocol ResponseSink: Sendable {
    func writeHead(status: Int, headers: [(String, String)]) async throws
    func writeBody(_ chunk: ByteBuffer) async throws
    func finish() async throws
    /// Whether the head went out: a failure after it cannot become an error response.
    var headWritten: Bool { get }
    /// Ends a response that failed after its head: the client sees a broken response (HTTP/2
    /// RST_STREAM, HTTP/1.1 a closed connection), never a truncated body passed off as whole.
    func abort()
}
