internal import CNghttp2

#if canImport(Glibc)
    import Glibc
#endif

/// The memory of one nghttp2 session. nghttp2 allocates five small blocks for every request it
/// serves (its stream, two outbound items, the response head's copy, a header buffer) and frees
/// them when the stream closes; on a busy connection this pool hands the freed blocks out again
/// instead of going through malloc and free each time.
///
/// Blocks of up to 256 bytes (a 16-byte header included) come in eight classes 32 bytes apart;
/// a freed one goes onto its class's free list while the lists then hold at most `maxPooledBytes`
/// in all, and back to the system otherwise. Larger blocks always go to the system. Every block
/// starts with the header (its class, and the size asked for), so `free` and `realloc` know it;
/// the caller's bytes follow, 16-byte aligned as malloc's are.
///
/// Touched only on the session's event loop, as the session is. What the lists hold is freed when
/// the connection has no stream open at its once-a-second check (`releasePooled`), and when the
/// pool goes, after the session (`HTTP2Session` deletes its nghttp2 session first).
final class NGHTTP2Memory {
    static let headerSize = 16
    static let classStep = 32
    static let classCount = 8
    /// The class of blocks too large to pool.
    static let largeClass = UInt64.max
    /// At most this many bytes wait on the free lists (a connection's worth of streams).
    static let maxPooledBytes = 64 * 1024

    /// The head of each class's free list (a block's first word links to the next), in memory of
    /// the pool's own: an array here would check its uniqueness on every push and pop.
    private let freeLists: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private(set) var pooledBytes = 0

    init() {
        freeLists = .allocate(capacity: Self.classCount)
        freeLists.initialize(repeating: nil, count: Self.classCount)
    }

    deinit {
        releasePooled()
        freeLists.deallocate()
    }

    /// Gives every block on the free lists back to the system (a connection gone quiet keeps
    /// none).
    func releasePooled() {
        guard pooledBytes > 0 else { return }
        for index in 0..<Self.classCount {
            while let block = freeLists[index] {
                freeLists[index] = block.load(as: UnsafeMutableRawPointer?.self)
                Glibc.free(block)
            }
        }
        pooledBytes = 0
    }

    /// nghttp2's view of the pool; the pool must outlive the session it is given to.
    var nghttp2Memory: nghttp2_mem {
        nghttp2_mem(
            mem_user_data: Unmanaged.passUnretained(self).toOpaque(),
            malloc: poolMalloc,
            free: poolFree,
            calloc: poolCalloc,
            realloc: poolRealloc
        )
    }

    /// `size` is nghttp2's `size_t`, imported as `Int`: sizes of 2^63 or more arrive negative and
    /// are refused, as are sizes the header would overflow.
    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard size >= 0, size <= Int.max - Self.headerSize else { return nil }
        let total = size + Self.headerSize
        guard total <= Self.classStep * Self.classCount else {
            guard let block = Glibc.malloc(total) else { return nil }
            return Self.start(block, class: Self.largeClass, size: size)
        }
        let index = (total - 1) / Self.classStep
        if let block = freeLists[index] {
            freeLists[index] = block.load(as: UnsafeMutableRawPointer?.self)
            pooledBytes -= (index + 1) * Self.classStep
            return Self.start(block, class: UInt64(index), size: size)
        }
        guard let block = Glibc.malloc((index + 1) * Self.classStep) else { return nil }
        return Self.start(block, class: UInt64(index), size: size)
    }

    func free(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let block = pointer - Self.headerSize
        let blockClass = block.load(as: UInt64.self)
        guard blockClass != Self.largeClass else {
            Glibc.free(block)
            return
        }
        let index = Int(blockClass)
        let blockSize = (index + 1) * Self.classStep
        guard pooledBytes + blockSize <= Self.maxPooledBytes else {
            Glibc.free(block)
            return
        }
        block.storeBytes(of: freeLists[index], as: UnsafeMutableRawPointer?.self)
        freeLists[index] = block
        pooledBytes += blockSize
    }

    func allocateZeroed(count: Int, size: Int) -> UnsafeMutableRawPointer? {
        guard count >= 0, size >= 0 else { return nil }
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, let pointer = allocate(total) else { return nil }
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        return pointer
    }

    func reallocate(_ pointer: UnsafeMutableRawPointer?, to size: Int) -> UnsafeMutableRawPointer? {
        guard size >= 0 else { return nil }
        guard let pointer else { return allocate(size) }
        let block = pointer - Self.headerSize
        let blockClass = block.load(as: UInt64.self)
        let capacity =
            blockClass == Self.largeClass
            ? Int(block.load(fromByteOffset: 8, as: UInt64.self))
            : (Int(blockClass) + 1) * Self.classStep - Self.headerSize
        if size <= capacity && blockClass != Self.largeClass {
            block.storeBytes(of: UInt64(size), toByteOffset: 8, as: UInt64.self)
            return pointer
        }
        guard let moved = allocate(size) else { return nil }
        moved.copyMemory(from: pointer, byteCount: min(size, capacity))
        free(pointer)
        return moved
    }

    /// Writes a block's header; returns where the caller's bytes start.
    private static func start(_ block: UnsafeMutableRawPointer, class blockClass: UInt64, size: Int)
        -> UnsafeMutableRawPointer
    {
        block.storeBytes(of: blockClass, as: UInt64.self)
        block.storeBytes(of: UInt64(size), toByteOffset: 8, as: UInt64.self)
        return block + headerSize
    }
}

// nghttp2's allocation callbacks (file scope: C function pointers capture nothing). The pool is
// borrowed: the session that calls them holds it.

private func withPool<R>(_ userData: UnsafeMutableRawPointer?, _ body: (NGHTTP2Memory) -> R) -> R {
    Unmanaged<NGHTTP2Memory>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}

private let poolMalloc: nghttp2_malloc = { size, userData in
    withPool(userData) { $0.allocate(size) }
}

private let poolFree: nghttp2_free = { pointer, userData in
    withPool(userData) { $0.free(pointer) }
}

private let poolCalloc: nghttp2_calloc = { count, size, userData in
    withPool(userData) { $0.allocateZeroed(count: count, size: size) }
}

private let poolRealloc: nghttp2_realloc = { pointer, size, userData in
    withPool(userData) { $0.reallocate(pointer, to: size) }
}
