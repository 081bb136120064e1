import Crypto

/// Incremental SHA-256 for verifying a blob while it streams (a layer is hashed as it is read,
/// never held whole).
public struct DigestHasher {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if contiguous == nil {
            Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
    }

    public func finalize() -> Digest {
        Digest(sha256: Array(hasher.finalize()))
    }
}
