/// A pull-based streaming reader of a layer's tar stream. `next()` returns the next entry, already
/// checked against the `LayerPolicy` (a refused entry is an error, and so is every call after it);
/// `readData` streams the current regular file's data; data left unread is skipped by `next()`.
///
/// The reader pulls its input from `read`, which appends at most `max` bytes to the buffer it is
/// given and returns how many it appended, 0 only at the end. Memory stays bounded by the chunk
/// size and the 1 MiB metadata limit, whatever the archive declares. After the end-of-archive
/// blocks, the rest of the input is read (so a compressed stream is checked to its end): up to
/// 1 MiB of zeros may follow, anything else is an error.
///
/// Paths are decoded as UTF-8; a path or link target that is not valid UTF-8 is refused.
///
/// Copies share the input: use one reader per stream.
public struct TarReader {
    public let policy: LayerPolicy
    private let read: (inout [UInt8], Int) throws -> Int
    /// Input read but not consumed yet: `pending[position...]`.
    private var pending: [UInt8] = []
    private var position = 0
    private var inputEnded = false
    /// The current regular file's data left, then its padding.
    private var remainingData: Int64 = 0
    private var remainingPadding: Int64 = 0
    private var currentPath: String?
    private var entryCount = 0
    private var totalBytes: Int64 = 0
    private var finished = false
    private var failure: LayerError?

    static let chunkSize = 1 << 16
    static let maxTrailingBytes = 1 << 20

    public init(policy: LayerPolicy = .default, read: @escaping (inout [UInt8], Int) throws -> Int) {
        self.policy = policy
        self.read = read
    }

    /// The entries returned so far.
    public var entriesRead: Int { entryCount }

    /// The next checked entry, or nil after the end-of-archive blocks. A missing end is tolerated
    /// at the end of the input only after a complete entry.
    public mutating func next() throws(LayerError) -> TarEntry? {
        if let failure { throw failure }
        if finished { return nil }
        do {
            return try nextEntry()
        } catch {
            failure = error
            throw error
        }
    }

    /// Appends up to `max` bytes of the current regular file's data to `buffer` and returns how
    /// many; 0 at the end of the data (and for entries that are not regular files).
    public mutating func readData(into buffer: inout [UInt8], max: Int) throws(LayerError) -> Int {
        if let failure { throw failure }
        guard remainingData > 0, max > 0 else { return 0 }
        let wanted = Int(min(Int64(max), remainingData))
        var count = 0
        do throws(LayerError) {
            if available > 0 {
                count = min(wanted, available)
                buffer.append(contentsOf: take(count))
            } else if !inputEnded {
                count = try Self.pull(read, into: &buffer, max: wanted)
                if count == 0 { inputEnded = true }
            }
            guard count > 0 else {
                throw LayerError.malformed("the archive is truncated inside this file's data", path: currentPath)
            }
        } catch {
            failure = error
            throw error
        }
        remainingData -= Int64(count)
        return count
    }

    private mutating func nextEntry() throws(LayerError) -> TarEntry? {
        try skip(remainingData + remainingPadding, what: "this file's data")
        (remainingData, remainingPadding, currentPath) = (0, 0, nil)
        var longName: ArraySlice<UInt8>?
        var longLink: ArraySlice<UInt8>?
        var pax: PaxHeader?
        while true {
            let pendingMetadata = longName != nil || longLink != nil || pax != nil
            guard let block = try takeBlock() else {
                try endWithoutEndBlocks(pendingMetadata: pendingMetadata)
                return nil
            }
            if TarHeader.isZero(block) {
                guard let second = try takeBlock() else {
                    try endWithoutEndBlocks(pendingMetadata: pendingMetadata)
                    return nil
                }
                guard TarHeader.isZero(second) else {
                    throw .malformed("a zero block inside the archive (only two of them may end it)")
                }
                guard !pendingMetadata else { throw .malformed("the archive ends after a metadata header") }
                try drainTrailer()
                finished = true
                return nil
            }
            let header = try TarHeader(block: block)
            switch header.typeflag {
            case UInt8(ascii: "L"):
                longName = TarHeader.cString(
                    try metadata(header, limit: Int64(policy.maxPathBytes) * 2, what: "GNU long name"))
            case UInt8(ascii: "K"):
                longLink = TarHeader.cString(
                    try metadata(header, limit: Int64(policy.maxPathBytes) * 2, what: "GNU long link"))
            case UInt8(ascii: "x"):
                pax = try PaxHeader(parsing: try metadata(header, limit: PaxHeader.maxBytes, what: "pax header"))
            case UInt8(ascii: "g"):
                // Global defaults are ignored, but they must be well-formed and bounded too.
                _ = try PaxHeader(parsing: try metadata(header, limit: PaxHeader.maxBytes, what: "global pax header"))
            default:
                return try entry(header, longName: longName, longLink: longLink, pax: pax)
            }
        }
    }

    /// Builds the entry a (non-metadata) header describes with the metadata before it applied, and
    /// checks it.
    private mutating func entry(
        _ header: TarHeader,
        longName: ArraySlice<UInt8>?,
        longLink: ArraySlice<UInt8>?,
        pax: PaxHeader?
    ) throws(LayerError) -> TarEntry {
        let rawPath = try Self.utf8(pax?.path ?? longName ?? header.name, what: "path", path: nil)
        let path = try policy.normalize(rawPath)
        let size = pax?.size ?? header.size
        let kind: TarEntry.Kind
        switch header.typeflag {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case UInt8(ascii: "3"), UInt8(ascii: "4"): throw .refused("device nodes are not allowed", path: path)
        case UInt8(ascii: "S"): throw .unsupported("sparse files are not supported", path: path)
        default:
            let shown =
                (0x21..<0x7F).contains(header.typeflag) ? "'\(UnicodeScalar(header.typeflag))'" : "\(header.typeflag)"
            throw .unsupported("entry type \(shown) is not supported", path: path)
        }
        if pax?.isSparse == true { throw .unsupported("sparse files are not supported", path: path) }
        guard size == 0 || kind == .file else {
            throw .malformed("only regular files may have data", path: path)
        }
        guard entryCount < policy.maxEntries else {
            throw .limit("the layer has more than \(policy.maxEntries) entries", path: path)
        }
        if kind == .file {
            guard size <= policy.maxFileBytes else {
                throw .limit("the file's \(size) bytes exceed the \(policy.maxFileBytes)-byte limit", path: path)
            }
            guard size <= policy.maxTotalBytes - totalBytes else {
                throw .limit("the layer's files exceed \(policy.maxTotalBytes) bytes in all", path: path)
            }
        }
        var linkTarget = ""
        if kind == .symlink || kind == .hardlink {
            let raw = try Self.utf8(pax?.linkPath ?? longLink ?? header.linkName, what: "link target", path: path)
            linkTarget =
                kind == .symlink
                ? try policy.symlinkTarget(raw, path: path) : try policy.hardlinkTarget(raw, path: path)
        }
        let uid = pax?.uid ?? header.uid
        let gid = pax?.gid ?? header.gid
        guard (0...Int64(UInt32.max)).contains(uid), (0...Int64(UInt32.max)).contains(gid) else {
            throw .malformed("the owner's uid or gid is out of range", path: path)
        }
        let entry = TarEntry(
            kind: kind,
            path: path,
            linkTarget: linkTarget,
            mode: UInt32(header.mode & 0o7777),
            uid: UInt32(uid),
            gid: UInt32(gid),
            size: size,
            modificationTime: pax?.modificationTime ?? header.modificationTime
        )
        try policy.check(entry)
        entryCount += 1
        totalBytes += size
        (remainingData, remainingPadding, currentPath) = (size, TarHeader.padding(after: size), path)
        return entry
    }

    private static func utf8(_ bytes: ArraySlice<UInt8>, what: String, path: String?) throws(LayerError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            let shown = String(decoding: bytes.prefix(256), as: UTF8.self)
            throw .refused("the \(what) is not valid UTF-8", path: path ?? shown)
        }
        return string
    }

    /// A metadata header's data (at most `limit` bytes), its padding skipped.
    private mutating func metadata(_ header: TarHeader, limit: Int64, what: String) throws(LayerError) -> ArraySlice<
        UInt8
    > {
        guard header.size <= limit else {
            throw .limit("a \(what) of \(header.size) bytes exceeds the \(limit)-byte limit")
        }
        // Counted with the files' data, so a stream of metadata (a gzip bomb of global pax headers)
        // is bounded too.
        guard header.size <= policy.maxTotalBytes - totalBytes else {
            throw .limit("the layer's files and metadata exceed \(policy.maxTotalBytes) bytes in all")
        }
        totalBytes += header.size
        let size = Int(header.size)
        guard try fill(size) else { throw .malformed("the archive is truncated inside a \(what)") }
        let data = Array(take(size))[...]
        try skip(TarHeader.padding(after: header.size), what: "a \(what)")
        return data
    }

    private mutating func endWithoutEndBlocks(pendingMetadata: Bool) throws(LayerError) {
        guard entryCount > 0, !pendingMetadata else {
            throw .malformed(
                entryCount == 0 ? "the archive is empty or truncated" : "the archive ends after a metadata header")
        }
        finished = true
    }

    /// The input after the end-of-archive blocks: up to 1 MiB of zeros (tar's record padding).
    private mutating func drainTrailer() throws(LayerError) {
        var seen = 0
        while true {
            if available == 0 {
                guard try fill(1) else { return }
            }
            let count = available
            guard take(count).allSatisfy({ $0 == 0 }) else {
                throw .malformed("data follows the end-of-archive blocks")
            }
            seen += count
            guard seen <= Self.maxTrailingBytes else {
                throw .malformed("more than \(Self.maxTrailingBytes) bytes follow the end-of-archive blocks")
            }
        }
    }

    /// The next 512-byte block, or nil at the end of the input exactly between blocks.
    private mutating func takeBlock() throws(LayerError) -> ArraySlice<UInt8>? {
        guard try fill(TarHeader.blockSize) else {
            guard available == 0 else { throw .malformed("the archive is truncated inside a header") }
            return nil
        }
        return Array(take(TarHeader.blockSize))[...]
    }

    private mutating func skip(_ count: Int64, what: String) throws(LayerError) {
        var left = count
        while left > 0 {
            if available == 0 {
                guard try fill(1) else {
                    throw .malformed("the archive is truncated inside \(what)", path: currentPath)
                }
            }
            let step = Int(min(left, Int64(available)))
            _ = take(step)
            left -= Int64(step)
        }
    }

    private var available: Int { pending.count - position }

    private mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        defer { position += count }
        return pending[position..<(position + count)]
    }

    /// Reads until `count` bytes are buffered; false if the input ends first.
    private mutating func fill(_ count: Int) throws(LayerError) -> Bool {
        while available < count {
            guard !inputEnded else { return false }
            pending.removeSubrange(0..<position)
            position = 0
            if try Self.pull(read, into: &pending, max: Swift.max(Self.chunkSize, count - available)) == 0 {
                inputEnded = true
            }
        }
        return true
    }

    /// One call of `read`, its contract checked and its errors wrapped.
    private static func pull(
        _ read: (inout [UInt8], Int) throws -> Int,
        into buffer: inout [UInt8],
        max: Int
    ) throws(LayerError) -> Int {
        let before = buffer.count
        let count: Int
        do {
            count = try read(&buffer, max)
        } catch let error as LayerError {
            throw error
        } catch {
            throw LayerError(code: .readFailed, message: "reading the layer failed", cause: error)
        }
        guard count >= 0, count <= max, buffer.count == before + count else {
            throw .malformed("the layer's read function returned \(count) bytes for \(max) asked")
        }
        return count
    }
}
