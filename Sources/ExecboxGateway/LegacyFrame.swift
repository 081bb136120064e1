public import NIOCore

/// One message of the legacy binary WebSocket protocol (CONTRACT.md §4.2), plus the resize
/// extension: a type byte, then big-endian u32 fields. One WebSocket message carries one frame.
public enum LegacyFrame: Sendable, Equatable {
    case stdin([UInt8])
    case stdout([UInt8])
    case stderr([UInt8])
    /// The exit code as a signed value; sent as its u32 bit pattern (−1 is FF FF FF FF).
    case exit(Int32)
    case error(String)
    case stdinClose
    /// Extension `07 cols(u16) rows(u16)`: legacy clients never send it.
    case resize(cols: UInt16, rows: UInt16)

    public static let maxPayload = 0xFF_FFFF
    public static let maxErrorBytes = 1024

    public struct DecodingError: Error, Equatable {
        public let reason: String
    }

    public static func decode(_ message: ByteBuffer) throws(DecodingError) -> LegacyFrame {
        var buffer = message
        guard let type = buffer.readInteger(as: UInt8.self) else { throw DecodingError(reason: "empty message") }
        switch type {
        case 0x01, 0x02, 0x03, 0x05:
            guard let length = buffer.readInteger(endianness: .big, as: UInt32.self) else {
                throw DecodingError(reason: "message too short: \(message.readableBytes) bytes, need at least 5")
            }
            guard length <= maxPayload else {
                throw DecodingError(reason: "payload length \(length) exceeds \(maxPayload)")
            }
            guard buffer.readableBytes == Int(length) else {
                throw DecodingError(reason: "length mismatch: declared \(length), got \(buffer.readableBytes)")
            }
            let payload = buffer.readBytes(length: Int(length)) ?? []
            switch type {
            case 0x01: return .stdin(payload)
            case 0x02: return .stdout(payload)
            case 0x03: return .stderr(payload)
            default:
                guard payload.count <= maxErrorBytes else {
                    throw DecodingError(reason: "error text of \(payload.count) bytes exceeds \(maxErrorBytes)")
                }
                return .error(String(decoding: payload, as: UTF8.self))
            }
        case 0x04:
            guard message.readableBytes == 5, let code = buffer.readInteger(endianness: .big, as: UInt32.self) else {
                throw DecodingError(reason: "exit message must be 5 bytes, got \(message.readableBytes)")
            }
            return .exit(Int32(bitPattern: code))
        case 0x06:
            guard message.readableBytes == 1 else {
                throw DecodingError(reason: "stdin close message must be 1 byte, got \(message.readableBytes)")
            }
            return .stdinClose
        case 0x07:
            guard message.readableBytes == 5, let cols = buffer.readInteger(endianness: .big, as: UInt16.self),
                let rows = buffer.readInteger(endianness: .big, as: UInt16.self)
            else {
                throw DecodingError(reason: "resize message must be 5 bytes, got \(message.readableBytes)")
            }
            return .resize(cols: cols, rows: rows)
        default:
            throw DecodingError(reason: "unknown message type 0x\(String(type, radix: 16, uppercase: false))")
        }
    }

    public func encode(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        func data(_ type: UInt8, _ payload: [UInt8]) -> ByteBuffer {
            var buffer = allocator.buffer(capacity: 5 + payload.count)
            buffer.writeInteger(type)
            buffer.writeInteger(UInt32(payload.count), endianness: .big)
            buffer.writeBytes(payload)
            return buffer
        }
        switch self {
        case .stdin(let payload): return data(0x01, payload)
        case .stdout(let payload): return data(0x02, payload)
        case .stderr(let payload): return data(0x03, payload)
        case .error(let text): return data(0x05, Array(Self.truncated(text).utf8))
        case .exit(let code):
            var buffer = allocator.buffer(capacity: 5)
            buffer.writeInteger(UInt8(0x04))
            buffer.writeInteger(UInt32(bitPattern: code), endianness: .big)
            return buffer
        case .stdinClose:
            var buffer = allocator.buffer(capacity: 1)
            buffer.writeInteger(UInt8(0x06))
            return buffer
        case .resize(let cols, let rows):
            var buffer = allocator.buffer(capacity: 5)
            buffer.writeInteger(UInt8(0x07))
            buffer.writeInteger(cols, endianness: .big)
            buffer.writeInteger(rows, endianness: .big)
            return buffer
        }
    }

    /// Cut at a character boundary to at most 1024 UTF-8 bytes (the legacy encoder could split a
    /// character).
    static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxErrorBytes else { return text }
        var result = ""
        var size = 0
        for character in text {
            size += character.utf8.count
            if size > maxErrorBytes { break }
            result.append(character)
        }
        return result
    }
}
