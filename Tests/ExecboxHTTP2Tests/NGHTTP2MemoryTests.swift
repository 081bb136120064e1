import Testing

@testable import ExecboxHTTP2

/// The pool behind each nghttp2 session's memory: what it hands out is as malloc's would be
/// (aligned, big enough, intact through realloc, zeroed by calloc), freed blocks come back, and
/// the free lists stay bounded.
struct NGHTTP2MemoryTests {
    @Test func blocksAreAlignedAndAFreedBlockServesTheNextOfItsClass() throws {
        let memory = NGHTTP2Memory()
        let first = try #require(memory.allocate(152))
        #expect(Int(bitPattern: first) % 16 == 0)
        memory.free(first)
        #expect(memory.pooledBytes == 192)
        // 150 bytes and a header fit the same 192-byte class: the freed block comes back.
        let second = try #require(memory.allocate(150))
        #expect(second == first)
        #expect(memory.pooledBytes == 0)
        // Another class does not take it.
        memory.free(second)
        let other = try #require(memory.allocate(20))
        #expect(other != second)
        memory.free(other)
        memory.free(nil)
    }

    @Test func largeBlocksGoToTheSystem() throws {
        let memory = NGHTTP2Memory()
        let large = try #require(memory.allocate(4096))
        #expect(Int(bitPattern: large) % 16 == 0)
        large.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 4096)
        memory.free(large)
        #expect(memory.pooledBytes == 0)
    }

    @Test func reallocKeepsTheBytesAcrossClassesAndSizes() throws {
        let memory = NGHTTP2Memory()
        var pointer = try #require(memory.allocate(10))
        for i in 0..<10 { pointer.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
        var size = 10
        // Within its class, across classes, to a large block, larger still, and back down.
        for next in [12, 100, 240, 1000, 5000, 64, 3] {
            pointer = try #require(memory.reallocate(pointer, to: next))
            #expect(Int(bitPattern: pointer) % 16 == 0)
            for i in 0..<min(size, next, 10) {
                #expect(pointer.load(fromByteOffset: i, as: UInt8.self) == UInt8(i), "after realloc to \(next)")
            }
            for i in 0..<min(next, 10) where i >= min(size, 10) {
                pointer.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self)
            }
            size = next
        }
        memory.free(pointer)
        // realloc of nil allocates.
        let fresh = try #require(memory.reallocate(nil, to: 50))
        memory.free(fresh)
    }

    @Test func callocZeroesRecycledBlocksAndRefusesOverflow() throws {
        let memory = NGHTTP2Memory()
        let dirty = try #require(memory.allocate(100))
        dirty.initializeMemory(as: UInt8.self, repeating: 0xFF, count: 100)
        memory.free(dirty)
        let zeroed = try #require(memory.allocateZeroed(count: 25, size: 4))
        #expect(zeroed == dirty)
        #expect((0..<100).allSatisfy { zeroed.load(fromByteOffset: $0, as: UInt8.self) == 0 })
        memory.free(zeroed)
        #expect(memory.allocateZeroed(count: Int.max, size: 2) == nil)
        #expect(memory.allocate(Int.max) == nil)
        // size_t values above Int.max arrive negative.
        #expect(memory.allocate(-1) == nil)
        #expect(memory.allocate(Int.min) == nil)
        #expect(memory.allocateZeroed(count: -1, size: 1) == nil)
        let block = try #require(memory.allocate(8))
        #expect(memory.reallocate(block, to: -16) == nil)
        memory.free(block)
    }

    @Test func theFreeListsStayBounded() throws {
        let memory = NGHTTP2Memory()
        let blocks = try (0..<2000).map { _ in try #require(memory.allocate(200)) }
        for block in blocks { memory.free(block) }
        #expect(memory.pooledBytes <= NGHTTP2Memory.maxPooledBytes)
        #expect(memory.pooledBytes > NGHTTP2Memory.maxPooledBytes - 256)
        memory.releasePooled()
        #expect(memory.pooledBytes == 0)
        // The lists are empty: a new block comes from the system and goes back onto them.
        let block = try #require(memory.allocate(200))
        memory.free(block)
        #expect(memory.pooledBytes == 224)
    }

    /// Random allocations, reallocations and frees against a model of what each block holds.
    @Test func randomUseKeepsEveryBlocksBytes() throws {
        let memory = NGHTTP2Memory()
        var generator = SystemRandomNumberGenerator()
        var live: [(pointer: UnsafeMutableRawPointer, size: Int, fill: UInt8)] = []
        func check(_ block: (pointer: UnsafeMutableRawPointer, size: Int, fill: UInt8)) {
            for offset in [0, block.size / 2, block.size - 1] where block.size > 0 {
                #expect(block.pointer.load(fromByteOffset: offset, as: UInt8.self) == block.fill)
            }
        }
        for step in 0..<20_000 {
            let size = [0, 1, 15, 16, 17, 51, 116, 152, 224, 240, 241, 300, 2000][
                Int.random(in: 0..<13, using: &generator)]
            let fill = UInt8(truncatingIfNeeded: step)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0,
                _ where live.isEmpty:
                let pointer = try #require(memory.allocate(size))
                pointer.initializeMemory(as: UInt8.self, repeating: fill, count: size)
                live.append((pointer, size, fill))
            case 1:
                let index = Int.random(in: 0..<live.count, using: &generator)
                check(live[index])
                memory.free(live[index].pointer)
                live.remove(at: index)
            default:
                let index = Int.random(in: 0..<live.count, using: &generator)
                let old = live[index]
                check(old)
                let pointer = try #require(memory.reallocate(old.pointer, to: size))
                for offset in [0, min(old.size, size) - 1] where min(old.size, size) > 0 {
                    #expect(pointer.load(fromByteOffset: offset, as: UInt8.self) == old.fill)
                }
                pointer.initializeMemory(as: UInt8.self, repeating: fill, count: size)
                live[index] = (pointer, size, fill)
            }
        }
        for block in live {
            check(block)
            memory.free(block.pointer)
        }
        #expect(memory.pooledBytes <= NGHTTP2Memory.maxPooledBytes)
    }
}
