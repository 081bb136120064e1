/// The sink `SandboxBackend.writeFile(_:path:options:_:)` hands its body: each call appends `bytes`
/// to the file being written. Only valid while the body runs; later calls throw `failedPrecondition`.
public protocol SandboxFileWriter: Sendable {
    func write(_ bytes: [UInt8]) async throws
}
