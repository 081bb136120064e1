/// A `read` function for `TarReader` over a layer blob that may be compressed: gzip (recognized by
/// its magic bytes, whatever the media type says) is inflated, anything else passes through as
/// tar. zstd, xz and bzip2 are recognized and refused. At most `max` bytes are inflated per call,
/// so a decompression bomb costs time bounded by the policy's limits, never memory.
public final class LayerDecompressor {
    public enum Compression: Sendable {
        case none
        case gzip
    }

    private let source: (inout [UInt8], Int) throws -> Int
    private var pending: [UInt8] = []
    private var position = 0
    private var sourceEnded = false
    private var inflater: GzipInflater?
    /// Known after the first `read`.
    public private(set) var compression: Compression?

    static let chunkSize = 1 << 16

    public init(read source: @escaping (inout [UInt8], Int) throws -> Int) {
        self.source = source
    }

    /// `TarReader`'s contract: appends at most `max` bytes to `buffer`, returns how many; 0 at the end.
    public func read(into buffer: inout [UInt8], max: Int) throws -> Int {
        guard max > 0 else { return 0 }
        let compression = try detect()
        if compression == .none {
            if position < pending.count {
                let count = min(max, pending.count - position)
                buffer.append(contentsOf: pending[position..<(position + count)])
                position += count
                return count
            }
            return sourceEnded ? 0 : try pullSource(into: &buffer, max: max)
        }
        let inflater = self.inflater!
        let before = buffer.count
        while true {
            let consumed = try inflater.inflate(pending[position...], into: &buffer, maxOutput: max)
            position += consumed
            if buffer.count > before { return buffer.count - before }
            if consumed > 0 { continue }
            if position == pending.count {
                pending.removeAll(keepingCapacity: true)
                position = 0
            }
            if sourceEnded {
                try inflater.finish()
                guard position == pending.count else {
                    throw LayerError.malformed("the compressed stream stopped making progress")
                }
                return 0
            }
            _ = try pullSource(into: &pending, max: Self.chunkSize)
        }
    }

    /// Looks at the first bytes once.
    private func detect() throws -> Compression {
        if let compression { return compression }
        while pending.count < 10 && !sourceEnded {
            _ = try pullSource(into: &pending, max: Self.chunkSize)
        }
        let magic = pending.prefix(10)
        func starts(_ bytes: [UInt8]) -> Bool { magic.starts(with: bytes) }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { throw LayerError.unsupported("zstd layers are not supported") }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { throw LayerError.unsupported("xz layers are not supported") }
        // "BZh", the block size, then a block's or the end's magic: a tar's first name could be "BZh".
        let bzip2 = magic.count == 10 && magic.starts(with: "BZh".utf8) && (0x31...0x39).contains(magic[3])
        if bzip2
            && (magic.dropFirst(4).elementsEqual([0x31, 0x41, 0x59, 0x26, 0x53, 0x59])
                || magic.dropFirst(4).elementsEqual([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]))
        {
            throw LayerError.unsupported("bzip2 layers are not supported")
        }
        let detected: Compression = starts([0x1F, 0x8B]) ? .gzip : .none
        if detected == .gzip { inflater = GzipInflater(format: .gzip) }
        compression = detected
        return detected
    }

    private func pullSource(into buffer: inout [UInt8], max: Int) throws -> Int {
        let before = buffer.count
        let count = try source(&buffer, max)
        guard count >= 0, count <= max, buffer.count == before + count else {
            throw LayerError.malformed("the layer's read function returned \(count) bytes for \(max) asked")
        }
        if count == 0 { sourceEnded = true }
        return count
    }
}
