/// One 512-byte tar header block, checked (checksum, magic) and split into its fields. Only ustar
/// (with POSIX prefix, including star's shorter one) and old-GNU headers are accepted; pre-POSIX
/// v7 headers are not (nothing builds layers with them, and no magic means no sanity check).
struct TarHeader {
    static let blockSize = 512

    /// The name, the ustar prefix already joined (`prefix/name`), cut at the first NUL.
    var name: ArraySlice<UInt8>
    var linkName: ArraySlice<UInt8>
    var mode: Int64
    var uid: Int64
    var gid: Int64
    var size: Int64
    var modificationTime: Int64
    var typeflag: UInt8

    init(block: ArraySlice<UInt8>) throws(LayerError) {
        precondition(block.count == Self.blockSize)
        let base = block.startIndex
        func field(_ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
            block[(base + offset)..<(base + offset + length)]
        }
        guard let recorded = TarNumber.parse(field(148, 8)) else {
            throw .malformed("a tar header's checksum field is not a number")
        }
        var unsigned: Int64 = 8 * 0x20  // the checksum field counts as spaces
        var signed: Int64 = 8 * 0x20
        block.withUnsafeBufferPointer { bytes in
            for offset in 0..<512 where !(148..<156).contains(offset) {
                unsigned += Int64(bytes[offset])
                signed += Int64(Int8(bitPattern: bytes[offset]))
            }
        }
        guard recorded == unsigned || recorded == signed else {
            throw .malformed("a tar header's checksum does not match (corrupt or not a tar archive)")
        }
        let magic = field(257, 6)
        let version = field(263, 2)
        let prefix: ArraySlice<UInt8>
        if magic.elementsEqual("ustar\0".utf8) {
            // star puts "tar\0" in the last bytes and keeps a shorter prefix.
            let isStar = field(508, 4).elementsEqual("tar\0".utf8)
            prefix = Self.cString(field(345, isStar ? 131 : 155))
        } else if magic.elementsEqual("ustar ".utf8) && version.elementsEqual(" \0".utf8) {
            prefix = []  // old GNU: that space holds access and change times
        } else {
            throw .unsupported("an entry has neither a ustar nor a GNU tar header (pre-POSIX tar is not supported)")
        }
        let name = Self.cString(field(0, 100))
        self.name = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
        linkName = Self.cString(field(157, 100))
        typeflag = block[base + 156]
        func number(_ label: String, _ offset: Int, _ length: Int) throws(LayerError) -> Int64 {
            guard let value = TarNumber.parse(field(offset, length)) else {
                throw .malformed("a tar header's \(label) field is not a number")
            }
            return value
        }
        mode = try number("mode", 100, 8)
        uid = try number("uid", 108, 8)
        gid = try number("gid", 116, 8)
        size = try number("size", 124, 12)
        modificationTime = try number("mtime", 136, 12)
        guard size >= 0 else { throw .malformed("a tar header's size is negative") }
    }

    static func isZero(_ block: ArraySlice<UInt8>) -> Bool {
        block.allSatisfy { $0 == 0 }
    }

    /// The bytes up to the first NUL.
    static func cString(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        bytes.prefix { $0 != 0 }
    }

    /// The padding after `size` bytes of data, up to the next block.
    static func padding(after size: Int64) -> Int64 {
        (Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize)
    }
}
