/// The records of a pax extended header (`x` for the next entry, `g` global): `"<length> <key>=<value>\n"`,
/// where the decimal length counts the whole record. Every record is validated; the keys an
/// unpacker needs are kept, the others (times, owner names, xattrs) ignored. `GNU.sparse.*` keys
/// mark a sparse file, which is refused.
struct PaxHeader {
    /// The largest pax header read (a path is at most `LayerPolicy.maxPathBytes` anyway).
    static let maxBytes: Int64 = 1 << 20

    var path: ArraySlice<UInt8>?
    var linkPath: ArraySlice<UInt8>?
    var size: Int64?
    var uid: Int64?
    var gid: Int64?
    var modificationTime: Int64?
    var isSparse = false

    init(parsing data: ArraySlice<UInt8>) throws(LayerError) {
        var rest = data
        while !rest.isEmpty {
            guard let space = rest.prefix(20).firstIndex(of: UInt8(ascii: " ")), space > rest.startIndex,
                let length = Self.decimal(rest[..<space]), length <= rest.count,
                length >= space - rest.startIndex + 4
            else {
                throw .malformed("a pax header record's length is wrong")
            }
            let record = rest.prefix(Int(length))
            rest = rest.dropFirst(Int(length))
            guard record.last == UInt8(ascii: "\n") else {
                throw .malformed("a pax header record does not end with a newline")
            }
            let keyValue = record[(space + 1)..<(record.endIndex - 1)]
            guard let equals = keyValue.firstIndex(of: UInt8(ascii: "=")), equals > keyValue.startIndex else {
                throw .malformed("a pax header record has no key")
            }
            let key = keyValue[..<equals]
            let value = keyValue[(equals + 1)...]
            guard !key.contains(0) else { throw .malformed("a pax header key contains a NUL byte") }
            try apply(key: String(decoding: key, as: UTF8.self), value: value)
        }
    }

    private mutating func apply(key: String, value: ArraySlice<UInt8>) throws(LayerError) {
        if key.hasPrefix("GNU.sparse.") {
            isSparse = true
            return
        }
        // An empty value removes the key's override: the ustar field counts again.
        let empty = value.isEmpty
        func number() throws(LayerError) -> Int64 {
            guard let number = Self.decimal(value) else {
                throw .malformed("the pax header's \(key) is not a decimal number")
            }
            return number
        }
        switch key {
        case "path": path = empty ? nil : value
        case "linkpath": linkPath = empty ? nil : value
        case "size": size = empty ? nil : try number()
        case "uid": uid = empty ? nil : try number()
        case "gid": gid = empty ? nil : try number()
        case "mtime": modificationTime = empty ? nil : try Self.seconds(value, key: key)
        default: break
        }
    }

    /// A non-negative decimal without sign, at most 18 digits (so it cannot overflow).
    static func decimal(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// `[-]seconds[.fraction]`: the whole seconds, rounded toward zero.
    private static func seconds(_ bytes: ArraySlice<UInt8>, key: String) throws(LayerError) -> Int64 {
        let negative = bytes.first == UInt8(ascii: "-")
        let unsigned = negative ? bytes.dropFirst() : bytes
        let dot = unsigned.firstIndex(of: UInt8(ascii: ".")) ?? unsigned.endIndex
        let fraction = unsigned[dot...].dropFirst()
        guard let whole = decimal(unsigned[..<dot]),
            unsigned[dot...].isEmpty
                || (!fraction.isEmpty && fraction.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else {
            throw .malformed("the pax header's \(key) is not a time in seconds")
        }
        return negative ? -whole : whole
    }
}
