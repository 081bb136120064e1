extension TarReader {
    /// A reader over a layer blob that may be gzip-compressed (see `LayerDecompressor`).
    public static func compressed(
        policy: LayerPolicy = .default,
        read: @escaping (inout [UInt8], Int) throws -> Int
    ) -> TarReader {
        let decompressor = LayerDecompressor(read: read)
        return TarReader(policy: policy, read: decompressor.read(into:max:))
    }
}
