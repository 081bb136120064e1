import CZlib
import ExecboxImages

/// Writes tar archives in memory for the tests, including the forms GNU tar and Go's archive/tar
/// produce (ustar with prefix, old-GNU magic, long names, pax records, base-256 numbers) and the
/// malformed ones a hostile layer would.
struct TarBuilder {
    enum Magic {
        case ustar
        case gnu
    }

    private(set) var bytes: [UInt8] = []

    struct Header {
        var name: [UInt8]
        var type: UInt8 = UInt8(ascii: "0")
        var size: Int64 = 0
        var mode: Int64 = 0o644
        var uid: Int64 = 0
        var gid: Int64 = 0
        var mtime: Int64 = 1_700_000_000
        var linkName: [UInt8] = []
        var prefix: [UInt8] = []
        var magic = Magic.ustar
        var base256Size = false
        var signedChecksum = false
        var checksumDelta: Int64 = 0
    }

    mutating func header(_ header: Header) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ field: [UInt8], at offset: Int, length: Int) {
            for (index, byte) in field.prefix(length).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int64, at offset: Int, length: Int) {
            let text = String(value, radix: 8)
            put(
                Array((String(repeating: "0", count: max(0, length - 1 - text.count)) + text).utf8), at: offset,
                length: length - 1)
        }
        func base256(_ value: Int64, at offset: Int, length: Int) {
            var remaining = value
            for index in stride(from: length - 1, to: 0, by: -1) {
                block[offset + index] = UInt8(truncatingIfNeeded: remaining)
                remaining >>= 8
            }
            block[offset] = value < 0 ? 0xFF : 0x80
        }
        put(header.name, at: 0, length: 100)
        for (value, offset) in [(header.mode, 100), (header.uid, 108), (header.gid, 116)] {
            if value < 0 || value >= 1 << 21 {
                base256(value, at: offset, length: 8)
            } else {
                octal(value, at: offset, length: 8)
            }
        }
        if header.base256Size || header.size >= 1 << 33 {
            base256(header.size, at: 124, length: 12)
        } else {
            octal(header.size, at: 124, length: 12)
        }
        if header.mtime < 0 {
            base256(header.mtime, at: 136, length: 12)
        } else {
            octal(header.mtime, at: 136, length: 12)
        }
        block[156] = header.type
        put(header.linkName, at: 157, length: 100)
        switch header.magic {
        case .ustar:
            put(Array("ustar\0".utf8), at: 257, length: 6)
            put(Array("00".utf8), at: 263, length: 2)
            put(header.prefix, at: 345, length: 155)
        case .gnu:
            put(Array("ustar ".utf8), at: 257, length: 6)
            put(Array(" \0".utf8), at: 263, length: 2)
        }
        put(Array("root".utf8), at: 265, length: 32)
        put(Array("root".utf8), at: 297, length: 32)
        for offset in 148..<156 { block[offset] = UInt8(ascii: " ") }
        var sum: Int64 = 0
        for byte in block { sum += header.signedChecksum ? Int64(Int8(bitPattern: byte)) : Int64(byte) }
        sum += header.checksumDelta
        let text = String(sum, radix: 8)
        put(
            Array((String(repeating: "0", count: 6 - text.count) + text).utf8) + [0, UInt8(ascii: " ")], at: 148,
            length: 8)
        bytes += block
    }

    /// Data padded to the next block.
    mutating func data(_ content: [UInt8]) {
        bytes += content
        bytes += [UInt8](repeating: 0, count: (512 - content.count % 512) % 512)
    }

    mutating func file(_ name: String, _ content: String = "", mode: Int64 = 0o644, magic: Magic = .ustar) {
        header(Header(name: Array(name.utf8), size: Int64(content.utf8.count), mode: mode, magic: magic))
        data(Array(content.utf8))
    }

    mutating func directory(_ name: String, mode: Int64 = 0o755) {
        header(Header(name: Array(name.utf8), type: UInt8(ascii: "5"), mode: mode))
    }

    mutating func symlink(_ name: String, to target: String) {
        header(Header(name: Array(name.utf8), type: UInt8(ascii: "2"), mode: 0o777, linkName: Array(target.utf8)))
    }

    mutating func hardlink(_ name: String, to target: String) {
        header(Header(name: Array(name.utf8), type: UInt8(ascii: "1"), linkName: Array(target.utf8)))
    }

    mutating func entry(_ name: String, type: Character, size: Int64 = 0, mode: Int64 = 0o644) {
        header(Header(name: Array(name.utf8), type: type.asciiValue!, size: size, mode: mode))
    }

    /// A pax extended header (`x`, or `g` when global) with these records, lengths computed.
    mutating func pax(_ records: [(String, String)], global: Bool = false) {
        let content = records.flatMap { Self.paxRecord($0.0, $0.1) }
        header(
            Header(name: Array("PaxHeaders/x".utf8), type: UInt8(ascii: global ? "g" : "x"), size: Int64(content.count))
        )
        data(content)
    }

    /// Raw pax data, for malformed records.
    mutating func paxRaw(_ content: [UInt8]) {
        header(Header(name: Array("PaxHeaders/x".utf8), type: UInt8(ascii: "x"), size: Int64(content.count)))
        data(content)
    }

    /// A GNU `L` (long name) or `K` (long link) header, as GNU tar writes it: the name and a NUL.
    mutating func gnuLong(_ type: Character, _ name: String) {
        let content = Array(name.utf8) + [0]
        header(
            Header(name: Array("././@LongLink".utf8), type: type.asciiValue!, size: Int64(content.count), magic: .gnu))
        data(content)
    }

    mutating func end() {
        bytes += [UInt8](repeating: 0, count: 1024)
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length += 1 }
        return Array("\(length)\(body)".utf8)
    }
}

/// gzip with zlib, for compressed layers.
func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    precondition(execbox_deflate_init(&stream, 1) == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
    let produced = bytes.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
            return out.count - Int(stream.avail_out)
        }
    }
    return Array(output.prefix(produced))
}

/// A `read` function over bytes in memory, at most `chunk` bytes a call (small chunks cross every
/// block boundary).
func reader(_ bytes: [UInt8], chunk: Int = 1 << 16) -> (inout [UInt8], Int) throws -> Int {
    var offset = 0
    return { buffer, max in
        let count = min(max, chunk, bytes.count - offset)
        buffer += bytes[offset..<(offset + count)]
        offset += count
        return count
    }
}

/// Every entry with its data.
func readAll(
    _ bytes: [UInt8],
    policy: LayerPolicy = .default,
    chunk: Int = 1 << 16,
    compressed: Bool = false
) throws(LayerError) -> [(entry: TarEntry, data: [UInt8])] {
    var tar =
        compressed
        ? TarReader.compressed(policy: policy, read: reader(bytes, chunk: chunk))
        : TarReader(policy: policy, read: reader(bytes, chunk: chunk))
    var entries: [(entry: TarEntry, data: [UInt8])] = []
    while let entry = try tar.next() {
        var data: [UInt8] = []
        while try tar.readData(into: &data, max: 1000) > 0 {}
        entries.append((entry, data))
    }
    return entries
}

/// The error reading `bytes` throws (nil if none).
func layerError(_ bytes: [UInt8], policy: LayerPolicy = .default, compressed: Bool = false) -> LayerError? {
    do {
        _ = try readAll(bytes, policy: policy, compressed: compressed)
        return nil
    } catch {
        return error
    }
}
