/// Fields a decoder did not recognise, kept as their raw bytes and written back unchanged, so a
/// message passes through an older reader without losing newer fields.
public struct UnknownFields: Hashable, Sendable {
    public private(set) var bytes: [UInt8] = []

    @inlinable
    public init() {}

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    @inlinable
    public var isEmpty: Bool { bytes.isEmpty }

    @inlinable
    public var count: Int { bytes.count }

    @usableFromInline
    mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    @inlinable
    public func encode(to writer: inout WireWriter) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { writer.writeRawBytes($0) }
    }
}
