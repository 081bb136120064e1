import ExecboxImages

/// The layer reader (STYLE.md §12) over arbitrary bytes. The first byte picks the path: even → the
/// rest is a tar stream; 1 mod 4 → the rest goes through `TarReader.compressed` (gzip detection and
/// the inflater against arbitrary input); 3 mod 4 → the rest wrapped in a valid gzip of stored
/// blocks, so mutated tars reach the parser through the inflater. Every entry and all its data are
/// drained. Properties: no crash, no hang, and every entry returned obeys the policy: a normalized
/// path, data only for regular files and exactly its size, no devices, nothing under dev/.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    // Small limits: a gzip bomb in 64 KiB of input inflates to 64 MiB, cut here at 4 MiB.
    let policy = LayerPolicy(maxEntries: 4096, maxTotalBytes: 4 << 20, maxFileBytes: 1 << 20)
    var reader: TarReader
    switch data[0] & 3 {
    case 1: reader = .compressed(policy: policy, read: source(body))
    case 3: reader = .compressed(policy: policy, read: source(StoredGzip.wrap(body)))
    default: reader = TarReader(policy: policy, read: source(body))
    }
    var buffer: [UInt8] = []
    do {
        while let entry = try reader.next() {
            check(entry, policy: policy)
            var total: Int64 = 0
            while true {
                buffer.removeAll(keepingCapacity: true)
                let count = try reader.readData(into: &buffer, max: 1 << 16)
                precondition(count == buffer.count, "readData's count is not what it appended")
                if count == 0 { break }
                total += Int64(count)
            }
            precondition(total == entry.size, "\(entry.path): \(total) bytes of data for size \(entry.size)")
        }
        let after = try reader.next()
        precondition(after == nil, "an entry after the end")
    } catch {
        precondition(!error.message.isEmpty)
        // The error sticks.
        precondition((try? reader.next()) == nil, "an entry after an error")
    }
    return 0
}

func check(_ entry: TarEntry, policy: LayerPolicy) {
    let path = entry.path
    precondition(!path.isEmpty && path.utf8.count <= policy.maxPathBytes, "bad path length")
    if path != "." {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        precondition(components.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }, "unnormalized \(path)")
        precondition(!LayerPolicy.reservedTrees.contains(String(components[0])) || components.count == 1, "\(path)")
    } else {
        precondition(entry.kind == .directory, "a root that is not a directory")
    }
    precondition(entry.kind == .file || entry.size == 0, "\(path): data for a non-file")
    precondition(entry.mode <= 0o7777, "\(path): mode \(entry.mode)")
    precondition(entry.kind == .directory || entry.kind == .symlink || entry.mode & 0o6000 == 0, "\(path): setuid")
    if entry.kind == .hardlink {
        let target = entry.linkTarget
        precondition(!target.hasPrefix("/") && !target.split(separator: "/").contains(".."), "\(path): \(target)")
    }
    if entry.kind == .symlink { precondition(!entry.linkTarget.isEmpty, "\(path): empty symlink") }
    for mountPoint in LayerPolicy.mountPoints where mountPoint == path || mountPoint.hasPrefix(path + "/") {
        precondition(
            entry.kind == (LayerPolicy.fileMountPoints.contains(path) ? .file : .directory), "\(path) at a mount point")
    }
}

/// `TarReader`'s read function over bytes in memory, in odd-sized pieces to cross block boundaries.
func source(_ bytes: [UInt8]) -> (inout [UInt8], Int) throws -> Int {
    var offset = 0
    return { buffer, max in
        let count = min(max, 4093, bytes.count - offset)
        buffer += bytes[offset..<(offset + count)]
        offset += count
        return count
    }
}
