extension WireMessage {
    /// Canonical proto3 JSON. Throws only for a Timestamp or Duration outside the range JSON
    /// can express.
    public func jsonString(options: JSONEncodingOptions = JSONEncodingOptions()) throws(JSONEncodingError) -> String {
        var writer = JSONWriter(options: options)
        encodeJSON(to: &writer)
        if let failure = writer.failure { throw failure }
        return writer.string
    }

    public func jsonUTF8Bytes(
        options: JSONEncodingOptions = JSONEncodingOptions()
    ) throws(JSONEncodingError) -> [UInt8] {
        var writer = JSONWriter(options: options)
        encodeJSON(to: &writer)
        if let failure = writer.failure { throw failure }
        return writer.bytes
    }

    public init(jsonString: String, options: JSONDecodingOptions = JSONDecodingOptions()) throws(JSONDecodingError) {
        self.init()
        var jsonString = jsonString
        // `withUTF8` only rethrows, so the typed error is carried out as a result.
        let result: Result<Void, JSONDecodingError> = jsonString.withUTF8 { utf8 in
            do throws(JSONDecodingError) {
                try merge(jsonUTF8Bytes: UnsafeRawBufferPointer(utf8), options: options)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    public init(jsonUTF8Bytes bytes: [UInt8], options: JSONDecodingOptions = JSONDecodingOptions())
        throws(JSONDecodingError)
    {
        self.init()
        // `withUnsafeBufferPointer` carries typed errors through; `withUnsafeBytes` only rethrows.
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONDecodingError) in
            try merge(jsonUTF8Bytes: UnsafeRawBufferPointer(buffer), options: options)
        }
    }

    public init(
        jsonUTF8Bytes bytes: UnsafeRawBufferPointer,
        options: JSONDecodingOptions = JSONDecodingOptions()
    ) throws(JSONDecodingError) {
        self.init()
        try merge(jsonUTF8Bytes: bytes, options: options)
    }

    /// Merges a JSON message into `self`: fields present in the JSON overwrite, repeated fields
    /// append, nested messages merge. Only whitespace may follow the message.
    public mutating func merge(
        jsonUTF8Bytes bytes: UnsafeRawBufferPointer,
        options: JSONDecodingOptions = JSONDecodingOptions()
    ) throws(JSONDecodingError) {
        guard bytes.count <= options.maxSize else {
            throw .tooLarge(size: bytes.count, limit: options.maxSize)
        }
        var scanner = JSONScanner(bytes: bytes, options: options)
        try decodeJSON(from: &scanner)
        try scanner.finish()
    }
}
