import Glibc

/// One exec's output as it was produced, kept on disk within a size limit so that a client can
/// re-attach from a byte offset during the run and after it.
///
/// Offsets count payload bytes (stdout and stderr together, in the order they were read). The spool
/// is one file, `<path>`: a 64-byte header (`ExecSpool1`-style magic, the ring's size, and where its
/// oldest record and its end are, so that a next server can take the spool over: `recovering`),
/// then a ring of `limit` bytes holding records: an 8-byte header
/// (stream: 1 stdout, 2 stderr; three zero bytes; the payload length, little-endian UInt32) and the
/// payload. The header is rewritten after each record (and before one that pushes old records out),
/// so a server killed at any point leaves a header that describes whole records. A record that does not fit pushes the oldest records out, so the newest `limit` bytes
/// (less headers) stay readable; rewriting a ring in place costs no file creation or page allocation.
/// The last `tailLimit` bytes are also kept in memory: a reader that keeps up never touches the file.
/// Per-stream counts (how much stdout came before an offset) are kept beside the combined offsets,
/// for clients that count stdout and stderr separately.
///
/// Not synchronised: its owner (`RuncExec`) calls it under its lock.
struct ExecSpool: ~Copyable {
    struct Chunk: Sendable {
        var offset: UInt64
        var isStdout: Bool
        /// The offset of the first byte within its own stream (stdout or stderr alone).
        var streamOffset: UInt64
        var bytes: [UInt8]

        /// Bytes of stdout before `offset`.
        var stdoutBefore: UInt64 { isStdout ? streamOffset : offset - streamOffset }
    }

    enum Read {
        case chunk(Chunk)
        /// The offset is the end: nothing to read yet.
        case atEnd
        /// Output before `retainedFrom` was dropped.
        case dropped(retainedFrom: UInt64)
    }

    static let headerSize = 8
    /// An empty file a spool directory may hold for the next spool to take instead of creating one
    /// (creating a file is the costly part on a slow disk).
    static let spareName = ".spare"
    static let indexStep: UInt64 = 64 << 10
    /// The file header: magic, limit, headPosition, writePosition, headOffset, headStdout,
    /// stagedStdout, stagedStderr (UInt64s, little-endian).
    static let fileHeaderSize = 64
    static let magic: UInt64 = 0x3130_4C4F_4F50_5358  // "XSPOOL01", little-endian

    let path: String
    let limit: Int
    let tailLimit: Int
    /// The ring file, opened at the first output; -1 before, and after a failed write.
    private var fd: Int32 = -1
    /// Positions count record bytes since the start (the file position is `position % limit`).
    private var headPosition: UInt64 = 0
    private var writePosition: UInt64 = 0
    /// The payload offset of the record at `headPosition`, and how much of what lies before it was
    /// stdout.
    private var headOffset: UInt64 = 0
    private var headStdout: UInt64 = 0
    /// (payload offset, position, stdout before) of a record start every `indexStep` bytes, oldest
    /// first.
    private var index: [(offset: UInt64, position: UInt64, stdout: UInt64)] = []
    private var tail: [Chunk] = []
    private var tailBytes = 0
    private(set) var end: UInt64 = 0
    /// The stdout part of `end`.
    private(set) var stdoutEnd: UInt64 = 0
    /// Set once a write failed (the disk is full); the spool then keeps only its memory tail.
    private(set) var failed = false
    /// How many chunks of each stream came through the exec's staging pipes (`StagedOutput`); in the
    /// file header, so a next server knows which staging pipe holds a chunk not yet spooled.
    private(set) var stagedStdout: UInt64 = 0
    private(set) var stagedStderr: UInt64 = 0

    init(path: String, limit: Int, tailLimit: Int) {
        self.path = path
        self.limit = max(limit, 256 << 10)
        self.tailLimit = tailLimit
    }

    /// Takes over the spool a previous server left at `path` (nil when it is not a whole spool: the
    /// caller then knows nothing of the output before). The ring keeps the size it was made with
    /// (a later server's `limit` applies to new spools only). A missing or empty file is an empty
    /// spool of `limit` (nothing was written yet).
    init?(recovering path: String, limit: Int, tailLimit: Int) {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        var valid = fd >= 0 || errno == ENOENT
        var header = [UInt8](repeating: 0, count: Self.fileHeaderSize)
        func word(_ index: Int) -> UInt64 {
            (0..<8).reduce(0) { $0 | UInt64(header[index * 8 + $1]) << (8 * $1) }
        }
        var ring = limit
        // An empty file: created, and the server died before its first record was written.
        if fd >= 0, case let count = pread(fd, &header, header.count, 0), count != 0 {
            valid =
                count == header.count && word(0) == Self.magic
                && (UInt64(256 << 10)...UInt64(1 << 30)).contains(word(1)) && word(2) <= word(3)
                && word(3) - word(2) <= word(1)
            if valid { ring = Int(word(1)) } else { header = [UInt8](repeating: 0, count: Self.fileHeaderSize) }
        } else {
            header = [UInt8](repeating: 0, count: Self.fileHeaderSize)
        }
        self.init(path: path, limit: ring, tailLimit: tailLimit)
        self.fd = fd
        guard valid else { return nil }
        headPosition = word(2)
        writePosition = word(3)
        headOffset = word(4)
        headStdout = word(5)
        stagedStdout = word(6)
        stagedStderr = word(7)
        // Walk the records for the end, the stdout count and the index.
        var position = headPosition
        end = headOffset
        stdoutEnd = headStdout
        var recordHeader = [UInt8](repeating: 0, count: Self.headerSize)
        while position < writePosition {
            guard readWrapped(&recordHeader, at: position), recordHeader[0] == 1 || recordHeader[0] == 2 else {
                return nil
            }
            let length = UInt64(Self.length(recordHeader))
            guard length > 0, position + UInt64(Self.headerSize) + length <= writePosition else { return nil }
            if index.last.map({ end - $0.offset >= Self.indexStep }) ?? true {
                index.append((end, position, stdoutEnd))
            }
            position += UInt64(Self.headerSize) + length
            end += length
            if recordHeader[0] == 1 { stdoutEnd += length }
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The first offset still readable.
    var retainedFrom: UInt64 {
        failed ? tail.first?.offset ?? end : headOffset
    }

    /// How much of the output before `retainedFrom` was stdout.
    var retainedStdoutFrom: UInt64 {
        failed ? tail.first?.stdoutBefore ?? stdoutEnd : headStdout
    }

    var stderrEnd: UInt64 { end - stdoutEnd }

    /// The largest payload of one record.
    var maxRecord: Int { limit / 4 - Self.headerSize }

    /// Adds a record; `staged` counts it as the next chunk of its stream through a staging pipe
    /// (committed with the record, in the same header write).
    mutating func append(_ bytes: [UInt8], isStdout: Bool, staged: Bool = false) {
        precondition(bytes.count <= maxRecord && !bytes.isEmpty)
        let chunk = Chunk(
            offset: end, isStdout: isStdout, streamOffset: isStdout ? stdoutEnd : end - stdoutEnd, bytes: bytes)
        let counted = !failed && writeRecord(chunk, staged: staged)
        if staged, !counted {
            if isStdout { stagedStdout += 1 } else { stagedStderr += 1 }
        }
        end += UInt64(bytes.count)
        if isStdout { stdoutEnd += UInt64(bytes.count) }
        tail.append(chunk)
        tailBytes += bytes.count
        while tailBytes > tailLimit, tail.count > 1 {
            tailBytes -= tail.removeFirst().bytes.count
        }
    }

    /// Writes the record and the header that commits it; true once a staged chunk is counted in it.
    private mutating func writeRecord(_ chunk: Chunk, staged: Bool) -> Bool {
        if fd < 0 {
            // A spare file made ahead in the directory (a pooled container's) saves creating one.
            let spare =
                path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                + "/" + Self.spareName
            if rename(spare, path) == 0 { fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC | O_NOFOLLOW) }
        }
        if fd < 0 {
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else {
                fail()
                return false
            }
        }
        let recordSize = UInt64(Self.headerSize + chunk.bytes.count)
        // Push out the oldest records until this one fits.
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        let evicting = writePosition + recordSize - headPosition > UInt64(limit)
        while writePosition + recordSize - headPosition > UInt64(limit) {
            guard readWrapped(&header, at: headPosition) else {
                fail()
                return false
            }
            let length = UInt64(Self.length(header))
            headPosition += UInt64(Self.headerSize) + length
            headOffset += length
            if header[0] == 1 { headStdout += length }
        }
        // The records pushed out are about to be overwritten: the file's header stops naming them first.
        if evicting, !writeFileHeader() {
            fail()
            return false
        }
        while let first = index.first, first.position < headPosition { index.removeFirst() }
        header[0] = chunk.isStdout ? 1 : 2
        header[1] = 0
        header[2] = 0
        header[3] = 0
        withUnsafeBytes(of: UInt32(chunk.bytes.count).littleEndian) { raw in
            for byte in 0..<4 { header[4 + byte] = raw[byte] }
        }
        guard writeWrapped(header, at: writePosition),
            writeWrapped(chunk.bytes, at: writePosition + UInt64(Self.headerSize))
        else {
            fail()
            return false
        }
        if index.last.map({ chunk.offset - $0.offset >= Self.indexStep }) ?? true {
            index.append((chunk.offset, writePosition, chunk.stdoutBefore))
        }
        writePosition += recordSize
        if staged {
            if chunk.isStdout { stagedStdout += 1 } else { stagedStderr += 1 }
        }
        if !writeFileHeader() { fail() }
        return true
    }

    private func writeFileHeader() -> Bool {
        var header = [UInt8](repeating: 0, count: Self.fileHeaderSize)
        let words = [
            Self.magic, UInt64(limit), headPosition, writePosition, headOffset, headStdout, stagedStdout, stagedStderr,
        ]
        for (index, word) in words.enumerated() {
            for byte in 0..<8 { header[index * 8 + byte] = UInt8(truncatingIfNeeded: word >> (8 * byte)) }
        }
        while true {
            let written = pwrite(fd, header, header.count, 0)
            if written < 0, errno == EINTR { continue }
            return written == header.count
        }
    }

    private static func length(_ header: [UInt8]) -> Int {
        Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24
    }

    /// A failed write (ENOSPC) ends the file; readers keep the memory tail.
    private mutating func fail() {
        failed = true
        removeFiles()
    }

    private func writeWrapped(_ bytes: [UInt8], at position: UInt64) -> Bool {
        var done = 0
        while done < bytes.count {
            let filePosition = Int((position + UInt64(done)) % UInt64(limit))
            let count = min(bytes.count - done, limit - filePosition)
            let written = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress! + done, count, off_t(Self.fileHeaderSize + filePosition))
            }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            done += written
        }
        return true
    }

    private func readWrapped(_ bytes: inout [UInt8], at position: UInt64) -> Bool {
        var done = 0
        while done < bytes.count {
            let filePosition = Int((position + UInt64(done)) % UInt64(limit))
            let count = min(bytes.count - done, limit - filePosition)
            let read = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count, off_t(Self.fileHeaderSize + filePosition))
            }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else { return false }
            done += read
        }
        return true
    }

    /// The record containing `offset`, from `offset` on.
    func read(from offset: UInt64) -> Read {
        if offset >= end { return .atEnd }
        if let first = tail.first, first.offset <= offset {
            // Chunks are contiguous: the one holding `offset` is found by walking back from the end.
            for chunk in tail.reversed() where chunk.offset <= offset {
                let skip = Int(offset - chunk.offset)
                let bytes = skip == 0 ? chunk.bytes : Array(chunk.bytes[skip...])
                return .chunk(
                    Chunk(
                        offset: offset, isStdout: chunk.isStdout, streamOffset: chunk.streamOffset + UInt64(skip),
                        bytes: bytes))
            }
        }
        guard !failed, fd >= 0, offset >= headOffset else { return .dropped(retainedFrom: retainedFrom) }
        let start = index.last(where: { $0.offset <= offset }) ?? (headOffset, headPosition, headStdout)
        var position = start.position
        var recordOffset = start.offset
        var stdoutBefore = start.stdout
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        while position < writePosition {
            guard readWrapped(&header, at: position) else { break }
            let length = Self.length(header)
            if offset < recordOffset + UInt64(length) {
                let skip = Int(offset - recordOffset)
                var bytes = [UInt8](repeating: 0, count: length - skip)
                guard readWrapped(&bytes, at: position + UInt64(Self.headerSize + skip)) else { break }
                let isStdout = header[0] == 1
                let streamOffset = (isStdout ? stdoutBefore : recordOffset - stdoutBefore) + UInt64(skip)
                return .chunk(Chunk(offset: offset, isStdout: isStdout, streamOffset: streamOffset, bytes: bytes))
            }
            position += UInt64(Self.headerSize + length)
            recordOffset += UInt64(length)
            if header[0] == 1 { stdoutBefore += UInt64(length) }
        }
        return .dropped(retainedFrom: retainedFrom)
    }

    /// Deletes the file (the exec's record is forgotten, or its sandbox removed).
    mutating func removeFiles() {
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(path)
    }
}
