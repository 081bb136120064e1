/// Base64 for `bytes` fields, written here because the module may not use Foundation.
///
/// Encoding is standard base64 with padding, as proto3 JSON prescribes. Decoding also takes the
/// URL-safe alphabet and missing padding, which other protobuf runtimes accept too; bits left
/// over in the last character are ignored, as Go's and Python's decoders do.
package enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Six-bit values by byte, both alphabets; 0xFF for bytes that are not base64.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    package static func encodedCount(_ count: Int) -> Int {
        (count + 2) / 3 * 4
    }

    /// Appends the encoding of `bytes` to `output`.
    package static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        let start = output.count
        let count = encodedCount(bytes.count)
        guard count > 0 else { return }
        output.append(contentsOf: repeatElement(0, count: count))
        alphabet.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBufferPointer { out in
                var i = 0
                var o = start
                while bytes.count - i >= 3 {
                    let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                    out[o] = table[Int(n >> 18)]
                    out[o + 1] = table[Int(n >> 12 & 63)]
                    out[o + 2] = table[Int(n >> 6 & 63)]
                    out[o + 3] = table[Int(n & 63)]
                    i += 3
                    o += 4
                }
                let padding = UInt8(ascii: "=")
                switch bytes.count - i {
                case 1:
                    let n = UInt32(bytes[i]) << 16
                    out[o] = table[Int(n >> 18)]
                    out[o + 1] = table[Int(n >> 12 & 63)]
                    out[o + 2] = padding
                    out[o + 3] = padding
                case 2:
                    let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                    out[o] = table[Int(n >> 18)]
                    out[o + 1] = table[Int(n >> 12 & 63)]
                    out[o + 2] = table[Int(n >> 6 & 63)]
                    out[o + 3] = padding
                default:
                    break
                }
            }
        }
    }

    package static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(encodedCount(bytes.count))
        bytes.withUnsafeBufferPointer { encode($0, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// The decoded bytes, or nil if `text` is not base64 in either alphabet.
    package static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var length = text.count
        // Padding is optional, but when present it must complete the last group of four.
        if length > 0, text[length - 1] == UInt8(ascii: "=") {
            guard length % 4 == 0 else { return nil }
            length -= 1
            if text[length - 1] == UInt8(ascii: "=") { length -= 1 }
        }
        guard length % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(length / 4 * 3 + 2)
        let valid: Bool = values.withUnsafeBufferPointer { table in
            var i = 0
            var n: UInt32 = 0
            while i < length {
                let v = table[Int(text[i])]
                guard v != 0xFF else { return false }
                n = n << 6 | UInt32(v)
                i += 1
                if i & 3 == 0 {
                    output.append(UInt8(truncatingIfNeeded: n >> 16))
                    output.append(UInt8(truncatingIfNeeded: n >> 8))
                    output.append(UInt8(truncatingIfNeeded: n))
                    n = 0
                }
            }
            switch length & 3 {
            case 2:
                output.append(UInt8(truncatingIfNeeded: n >> 4))
            case 3:
                output.append(UInt8(truncatingIfNeeded: n >> 10))
                output.append(UInt8(truncatingIfNeeded: n >> 2))
            default:
                break
            }
            return true
        }
        return valid ? output : nil
    }

    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }
}
