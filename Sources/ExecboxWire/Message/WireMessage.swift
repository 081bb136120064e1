/// A generated protobuf message: a value type that encodes to and decodes from the binary wire
/// format and canonical proto3 JSON.
///
/// The underscored requirements are the generator's contract; call the public entry points
/// (``serializedBytes()``, ``init(serializedBytes:options:)``, ``jsonString(options:)``, …).
public protocol WireMessage: Hashable, Sendable {
    init()

    /// The full `.proto` name, such as `execbox.v1.Session`.
    static var protoMessageName: String { get }

    var unknownFields: UnknownFields { get set }

    /// Merges the fields of one encoded message into `self`.
    mutating func decodeMessage(from reader: inout WireReader) throws(WireDecodingError)

    /// The encoded size, recording the sizes of nested messages in `cache` (pre-order).
    func _computeSize(_ cache: inout WireSizeCache) -> Int

    /// Writes the fields, taking nested sizes from `cache` in the order `_computeSize` recorded them.
    func _encode(to writer: inout WireWriter, _ cache: inout WireSizeCache)

    /// Writes this message as a JSON value (an object, or a string for Timestamp and Duration).
    func encodeJSON(to writer: inout JSONWriter)

    /// Reads a JSON value into `self`, merging into fields already set.
    mutating func decodeJSON(from scanner: inout JSONScanner) throws(JSONDecodingError)
}

extension WireMessage {
    /// The exact size of ``serializedBytes()``.
    public func serializedSize() -> Int {
        var cache = WireSizeCache()
        return _computeSize(&cache)
    }

    /// The binary encoding, in one allocation of exactly the right size.
    public func serializedBytes() -> [UInt8] {
        var cache = WireSizeCache()
        let size = _computeSize(&cache)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            if let base = buffer.baseAddress {
                var writer = WireWriter(base: base, capacity: size)
                _encode(to: &writer, &cache)
                precondition(writer.count == size, "ExecboxWire: encoded size differs from the computed size")
            }
            initialized = size
        }
    }

    /// Writes the binary encoding into memory the caller owns, which must hold `serializedSize()`
    /// bytes; returns the number written.
    public func serialize(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var cache = WireSizeCache()
        let size = _computeSize(&cache)
        precondition(buffer.count >= size, "ExecboxWire: buffer smaller than the message")
        guard let base = buffer.baseAddress, size > 0 else { return 0 }
        var writer = WireWriter(base: base.assumingMemoryBound(to: UInt8.self), capacity: size)
        _encode(to: &writer, &cache)
        return writer.count
    }

    public init(
        serializedBytes bytes: UnsafeRawBufferPointer,
        options: WireDecodingOptions = WireDecodingOptions()
    ) throws(WireDecodingError) {
        self.init()
        try merge(serializedBytes: bytes, options: options)
    }

    public init(
        serializedBytes bytes: [UInt8],
        options: WireDecodingOptions = WireDecodingOptions()
    ) throws(WireDecodingError) {
        self.init()
        try mergeContiguous(bytes, options: options)
    }

    public init(
        serializedBytes bytes: ArraySlice<UInt8>,
        options: WireDecodingOptions = WireDecodingOptions()
    ) throws(WireDecodingError) {
        self.init()
        try mergeContiguous(bytes, options: options)
    }

    private mutating func mergeContiguous(
        _ bytes: some ContiguousBytesView,
        options: WireDecodingOptions
    ) throws(WireDecodingError) {
        // withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        let result = bytes.withUnsafeBytes { raw -> Result<Void, WireDecodingError> in
            do throws(WireDecodingError) {
                try merge(serializedBytes: raw, options: options)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Merges an encoded message into `self`: scalars overwrite, repeated fields append,
    /// nested messages merge.
    public mutating func merge(
        serializedBytes bytes: UnsafeRawBufferPointer,
        options: WireDecodingOptions = WireDecodingOptions()
    ) throws(WireDecodingError) {
        guard bytes.count <= options.maxSize else {
            throw .tooLarge(size: bytes.count, limit: options.maxSize)
        }
        var reader = WireReader(buffer: bytes, options: options)
        try decodeMessage(from: &reader)
    }
}

extension WireMessage {
    /// Builds a message in one expression: `Session.with { $0.id = "s-1" }`.
    public static func with(_ configure: (inout Self) throws -> Void) rethrows -> Self {
        var message = Self()
        try configure(&message)
        return message
    }
}

/// Byte containers decoding reads in place.
public protocol ContiguousBytesView {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytesView where Element == UInt8 {}
extension ArraySlice: ContiguousBytesView where Element == UInt8 {}
