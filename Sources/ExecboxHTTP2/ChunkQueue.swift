import NIOCore

/// A FIFO of body chunks that allocates nothing until the first chunk arrives (most request
/// bodies are empty and most responses are one chunk, so `CircularBuffer`'s up-front storage
/// was one allocation per stream for nothing).
struct ChunkQueue {
    private var chunks: [ByteBuffer] = []
    private var head = 0

    var isEmpty: Bool { head == chunks.count }

    var first: ByteBuffer? { isEmpty ? nil : chunks[head] }

    mutating func append(_ chunk: ByteBuffer) {
        chunks.append(chunk)
    }

    mutating func popFirst() -> ByteBuffer? {
        guard !isEmpty else { return nil }
        let chunk = chunks[head]
        removeFirst()
        return chunk
    }

    mutating func removeFirst() {
        chunks[head] = ByteBuffer()
        head += 1
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 16 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    /// Replaces the first chunk (what is left of it after a partial send).
    mutating func replaceFirst(with chunk: ByteBuffer) {
        chunks[head] = chunk
    }
}
