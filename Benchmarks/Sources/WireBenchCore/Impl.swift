/// The Swift implementations under test. The raw value is the `--impl` name.
public enum Impl: String, CaseIterable, Sendable {
    /// Execbox's own runtime (ExecboxWire) and generated code (ExecboxAPI, ExecboxFixtures).
    case ours
    /// apple/swift-protobuf 1.39.0 and its generated code (SwiftProtobufPeer).
    case swiftprotobuf
}
