import NIOCore

/// A FIFO of body chunks that allocates nothing for the common cases: most request bodies are
/// empty and most responses are one chunk, so the first chunk lives inline and an array is made
/// only when a second one queues behind it (`CircularBuffer`'s up-front storage was one
/// allocation per stream for nothing).
struct ChunkQueue {
    private var head: ByteBuffer?
    private var rest: [ByteBuffer] = []
    private var restStart = 0

    var isEmpty: Bool { head == nil }

    var first: ByteBuffer? { head }

    mutating func append(_ chunk: ByteBuffer) {
        if head == nil {
            head = chunk
        } else {
            rest.append(chunk)
        }
    }

    mutating func popFirst() -> ByteBuffer? {
        guard let chunk = head else { return nil }
        removeFirst()
        return chunk
    }

    mutating func removeFirst() {
        guard restStart < rest.count else {
            head = nil
            return
        }
        head = rest[restStart]
        rest[restStart] = ByteBuffer()
        restStart += 1
        if restStart == rest.count {
            rest.removeAll(keepingCapacity: true)
            restStart = 0
        } else if restStart >= 16 && restStart * 2 >= rest.count {
            rest.removeFirst(restStart)
            restStart = 0
        }
    }

    /// Replaces the first chunk (what is left of it after a partial send).
    mutating func replaceFirst(with chunk: ByteBuffer) {
        head = chunk
    }
}
