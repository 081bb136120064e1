import ExecboxWire
import SwiftProtobuf
public import WireShapes

/// One shape built by one implementation: its encoding, and loops that encode or decode it.
///
/// The loops are closures made where the message type is concrete, so each one is specialized
/// for its type: the benchmark pays no generic or existential dispatch per operation.
public struct Workload: Sendable {
    public let impl: Impl
    public let shape: Shape
    /// The encoding of the value, as this implementation writes it.
    public let encoded: [UInt8]
    /// Encodes the value `n` times into a fresh `[UInt8]` each time.
    public let encode: @Sendable (_ n: Int) -> Void
    /// Decodes `encoded` `n` times into a fresh message each time.
    public let decode: @Sendable (_ n: Int) -> Void
    /// Whether `bytes`, decoded by this implementation, equal the value it built itself.
    public let matches: @Sendable (_ bytes: [UInt8]) -> Bool

    public init(impl: Impl, shape: Shape) {
        switch (impl, shape) {
        case (.ours, .execOutput32k): self = .ours(shape, OursMessages.outputChunk(ShapeRules.execOutput()))
        case (.ours, .createSession): self = .ours(shape, OursMessages.createSession(ShapeRules.createSession()))
        case (.ours, .listSessions100): self = .ours(shape, OursMessages.listSessions(ShapeRules.listSessions()))
        case (.ours, .nested14k): self = .ours(shape, OursMessages.nested(ShapeRules.nested()))
        case (.swiftprotobuf, .execOutput32k): self = .peer(shape, PeerMessages.outputChunk(ShapeRules.execOutput()))
        case (.swiftprotobuf, .createSession):
            self = .peer(shape, PeerMessages.createSession(ShapeRules.createSession()))
        case (.swiftprotobuf, .listSessions100):
            self = .peer(shape, PeerMessages.listSessions(ShapeRules.listSessions()))
        case (.swiftprotobuf, .nested14k): self = .peer(shape, PeerMessages.nested(ShapeRules.nested()))
        }
    }

    init(
        impl: Impl,
        shape: Shape,
        encoded: [UInt8],
        encode: @escaping @Sendable (Int) -> Void,
        decode: @escaping @Sendable (Int) -> Void,
        matches: @escaping @Sendable ([UInt8]) -> Bool
    ) {
        self.impl = impl
        self.shape = shape
        self.encoded = encoded
        self.encode = encode
        self.decode = decode
        self.matches = matches
    }

    static func ours<M: WireMessage>(_ shape: Shape, _ message: M) -> Workload {
        let bytes = message.serializedBytes()
        return Workload(
            impl: .ours,
            shape: shape,
            encoded: bytes,
            encode: { n in
                for _ in 0..<n { blackHole(message.serializedBytes()) }
            },
            decode: { n in
                for _ in 0..<n { blackHole(try! M(serializedBytes: bytes)) }
            },
            matches: { other in (try? M(serializedBytes: other)) == message }
        )
    }

    static func peer<M: SwiftProtobuf.Message & Equatable>(_ shape: Shape, _ message: M) -> Workload {
        let bytes: [UInt8] = try! message.serializedBytes()
        return Workload(
            impl: .swiftprotobuf,
            shape: shape,
            encoded: bytes,
            encode: { n in
                for _ in 0..<n { blackHole(try! message.serializedBytes() as [UInt8]) }
            },
            decode: { n in
                for _ in 0..<n { blackHole(try! M(serializedBytes: bytes)) }
            },
            matches: { other in (try? M(serializedBytes: other)) == message }
        )
    }
}
